"""`hwnas monotonicity` writes into its run folder (not the working directory) with a summary.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd


def test_writes_into_the_run_folder_with_command_seconds(tmp_path):
    run_dir, cwd = tmp_path / "run", tmp_path / "cwd"
    cwd.mkdir()
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "monotonicity", "tables=[nb201_oneproxy]",
                             f"hydra.run.dir={run_dir}"], cwd=cwd, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []  # nothing in the working directory (it used to get ./monotonicity)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0 < summary["command_seconds"] < 120 and summary["out_dir"] == str(run_dir)
    files = summary["tables"]["nb201_oneproxy"]
    assert files == {"csv": str(run_dir / "nb201_oneproxy_spearman.csv"),
                     "png": str(run_dir / "nb201_oneproxy_spearman.png"), "devices": 18}
    assert len(pd.read_csv(files["csv"], index_col="device")) == 18


def test_out_dir_still_chooses_the_folder_of_the_tables(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "monotonicity", "tables=[nb201_oneproxy]",
                             f"out_dir={tmp_path / 'tables'}", f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tables" / "nb201_oneproxy_spearman.png").is_file()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["out_dir"] == str(tmp_path / "tables")
