"""Hydra multirun sweeps through the launcher presets: local (joblib) and Ray against a local instance.

The joblib launcher is a core dependency; the Ray test is skipped only when the `[ray]` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap

import pandas as pd
import pytest
from cli_runner import hwnas

HAS_RAY = (importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None
           and importlib.util.find_spec("ray") is not None)


def _sweep(tmp_path, launcher: str | None):
    extra = [f"+launcher={launcher}"] if launcher else []
    # budget_ms=0.001 is infeasible on raspi4: that job fails, the other runs on
    return hwnas("search", "-m", *extra, "device=raspi4", "budget_ms=0.001,25", "seed=3", "max_evals=30",
                 "progress=false", f"hydra.sweep.dir={tmp_path}")


def _check(result, folder):
    # the other job ran; then the sweep exits 2, naming the failed job
    assert result.returncode == 2, result.stderr
    assert "job 0 failed: budget_ms=0.001 is infeasible on raspi4" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "hwnas search: error: 1 sweep job(s) failed (job 0); the others ran"
    assert not (folder / "0" / "summary.json").exists()
    summary = json.loads((folder / "1" / "summary.json").read_text())
    assert summary["budget_ms"] == 25 and summary["cost"]["evaluations"] == 30
    return pd.read_parquet(folder / "1" / "trials.parquet")["arch"].tolist()


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basic")
    return _check(_sweep(folder, None), folder)


def test_unknown_launcher_is_refused(tmp_path):
    result = hwnas("search", "-m", "+launcher=slurmm", "seed=0", f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 2 and "unknown launcher 'slurmm'" in result.stderr
    assert "local" in result.stderr and "ray" in result.stderr


def test_local_launcher_runs_the_sweep_in_parallel_and_survives_a_failed_job(tmp_path, sequential):
    result = _sweep(tmp_path, "local")
    assert "Joblib" in result.stdout + result.stderr
    assert _check(result, tmp_path) == sequential  # same seed, same result whatever the launcher


@pytest.mark.skipif(not HAS_RAY, reason="optional extra not installed: hydra-ray-launcher + ray (pip install "
                                        "'hwnas[ray]')")
def test_ray_launcher_runs_against_a_local_ray_instance(tmp_path, sequential):
    result = _sweep(tmp_path, "ray")
    assert "Initializing ray" in result.stdout + result.stderr
    assert _check(result, tmp_path) == sequential


@pytest.mark.skipif(not HAS_RAY, reason="optional extra not installed: hydra-ray-launcher + ray (pip install "
                                        "'hwnas[ray]')")
def test_ray_launcher_jobs_on_a_node_without_the_data_fail_with_one_line(tmp_path):
    """A node whose workers lack the data (here: every worker, by Ray's runtime_env): each job fails in one line."""
    missing = tmp_path / "no-data"
    result = hwnas("search", "-m", "+launcher=ray", f"+hydra.launcher.ray.init.runtime_env.env_vars.HWNAS_DATA_DIR={missing}",
                   "device=raspi4", "budget_ms=25", "seed=0,1", "max_evals=10", "progress=false",
                   f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.returncode == 2, result.stderr
    line = f"HWNAS_DATA_DIR={missing} does not hold the hwnas data (no MANIFEST.md there)"
    assert f"job 0 failed: {line}" in result.stderr and f"job 1 failed: {line}" in result.stderr
    assert "Traceback" not in result.stderr
    # Ray forwards the workers' lines asynchronously: the summary line need not be the last one
    assert "hwnas search: error: 2 sweep job(s) failed (job 0, 1); the others ran" in result.stderr
    assert not list((tmp_path / "sweep").glob("*/summary.json"))


BOOM = """
from hwnas.strategies.random_search import RandomSearch


class Boom(RandomSearch):
    def ask(self, n=1):
        if self.seed == 1:
            raise ZeroDivisionError("a bug in a plug-in")
        return super().ask(n)
"""


def test_a_job_raising_any_error_leaves_the_others_running_and_fails_the_sweep(tmp_path):
    (tmp_path / "plugin" / "conf" / "strategy").mkdir(parents=True)
    (tmp_path / "plugin" / "hwnas_test_boom.py").write_text(textwrap.dedent(BOOM))
    (tmp_path / "plugin" / "conf" / "strategy" / "boom.yaml").write_text("_target_: hwnas_test_boom.Boom\n")
    env = {"PYTHONPATH": str(tmp_path / "plugin"), "HWNAS_CONFIG_PATH": str(tmp_path / "plugin" / "conf")}
    sweep = tmp_path / "sweep"
    result = hwnas("search", "-m", "strategy=boom", "device=pixel3", "seed=0,1,2", "max_evals=10", "progress=false",
                   f"hydra.sweep.dir={sweep}", env=env)
    assert result.returncode == 2, result.stderr
    assert "job 1 failed: ZeroDivisionError: a bug in a plug-in" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("1 sweep job(s) failed (job 1); the others ran")
    assert [(sweep / str(j) / "summary.json").is_file() for j in range(3)] == [True, False, True]
