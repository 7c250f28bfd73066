"""The Slurm route (+launcher=slurm, Hydra's submitit launcher), tested by configuration: the preset composes
with the documented overrides and submitit turns it into an sbatch script with those settings (no Slurm here)."""

from __future__ import annotations

import submitit
from hydra import compose, initialize_config_dir
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import OmegaConf

from hwnas.config import conf_dir, hydra_searchpath_override

DOCUMENTED = ["+launcher=slurm", "hydra.launcher.partition=cpu", "hydra.sweep.dir=/shared/runs/sweep1",
              "hydra.launcher.setup=['export HWNAS_DATA_DIR=/shared/hwnas-data']"]   # docs/remote.md, + -m seed=0,1,2


def test_the_documented_slurm_sweep_composes_into_an_sbatch_script(tmp_path, monkeypatch):
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))  # as if `srun` were here
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="search", overrides=[*DOCUMENTED, *hydra_searchpath_override()],
                      return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert launcher.pop("_target_") == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert launcher["submitit_folder"] == "${hydra.sweep.dir}/.submitit/%j" and cfg.hydra.sweep.dir == "/shared/runs/sweep1"
    launcher.update(name="search", submitit_folder=str(tmp_path))
    # what SlurmLauncher.launch does with these keys: submitit refuses any it does not know
    executor = submitit.AutoExecutor(cluster="slurm", folder=launcher.pop("submitit_folder"),
                                     slurm_max_num_timeout=launcher.pop("max_num_timeout"))
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in launcher.items()})
    script = executor._executor._make_submission_file_text("python -m hwnas.cli search", "uid")
    for line in ("#SBATCH --partition=cpu", "#SBATCH --time=60", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=4GB",
                 "#SBATCH --job-name=search", "export HWNAS_DATA_DIR=/shared/hwnas-data"):
        assert line in script, line
