"""Resuming from the command line: a TPE run killed with SIGKILL (at any point, inside the sampler's ask
included) resumes to the uninterrupted records, and a run folder moved elsewhere still resumes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from cli_runner import hwnas

COLUMNS = ["trial", "arch", "accuracy", "latency_ms", "feasible", "screened", "best_feasible_accuracy"]


def records(run_dir):
    return pd.read_parquet(run_dir / "trials.parquet")[COLUMNS]


def test_a_tpe_run_killed_mid_search_resumes_to_the_uninterrupted_records(tmp_path):
    args = ["search", "strategy=tpe", "device=pixel3", "budget_ms=6.5", "max_evals=150", "seed=2", "progress=false"]
    whole = hwnas(*args, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "hwnas.cli", *args, f"hydra.run.dir={run_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal, deadline = run_dir / "trials.jsonl", time.monotonic() + 120
    while (not journal.is_file() or journal.read_text().count("\n") < 60) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (run_dir / "summary.json").exists() and not (run_dir / "optuna.db").exists()
    resumed = hwnas(*args, f"hydra.run.dir={run_dir}", "resume=true")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed"]["mode"] == "replayed" and summary["resumed"]["trials"] >= 60
    assert records(run_dir).equals(records(tmp_path / "whole"))


@pytest.mark.parametrize("strategy", ["evolution", "tpe"])
def test_a_moved_run_folder_resumes(tmp_path, strategy):
    args = ["search", f"strategy={strategy}", "device=pixel3", "budget_ms=6.5", "seed=1", "progress=false"]
    first = hwnas(*args, "max_evals=30", f"hydra.run.dir={tmp_path / 'A'}")
    assert first.returncode == 0, first.stderr
    snapshot = (tmp_path / "A" / "run_config.json").read_text()
    assert str(tmp_path) not in snapshot  # nothing in the snapshot names the folder: it can move
    (tmp_path / "A").rename(tmp_path / "B")
    # a finished run resumes to the same result (a killed one too: the journal is all it needs)
    again = hwnas(*args, "max_evals=30", f"hydra.run.dir={tmp_path / 'B'}", "resume=true")
    assert again.returncode == 0, again.stderr
    summary = json.loads((tmp_path / "B" / "summary.json").read_text())
    assert summary["resumed"]["trials"] == len(records(tmp_path / "B"))
    assert not (tmp_path / "A").exists()


@pytest.mark.parametrize("strategy", ["gp", "nsga2"])
def test_a_run_cut_short_resumes_in_a_new_process_to_the_uninterrupted_records(tmp_path, strategy):
    """The journal of a run killed after 12 trials (the finished run's first 12 lines) resumes, in a fresh
    process, to the finished run's records: nothing in the replay depends on the process."""
    args = ["search", f"strategy={strategy}", "device=pixel3", "budget_ms=6.5", "max_evals=25", "seed=3",
            "progress=false"]
    whole = hwnas(*args, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "run_config.json").write_text((tmp_path / "whole" / "run_config.json").read_text())
    lines = (tmp_path / "whole" / "trials.jsonl").read_text().splitlines(keepends=True)
    (cut / "trials.jsonl").write_text("".join(lines[:12]))
    resumed = hwnas(*args, f"hydra.run.dir={cut}", "resume=true")
    assert resumed.returncode == 0, resumed.stderr
    assert "did not reproduce" not in resumed.stderr
    assert records(cut).equals(records(tmp_path / "whole"))
