"""Ctrl-C during `hwnas search`: one line naming the command that resumes the run, exit status 130."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time

import pandas as pd
from cli_runner import hwnas

ARGS = ["search", "device=pixel3", "strategy=random", "max_evals=8000", "seed=1", "progress=false"]


def test_ctrl_c_prints_the_resume_command_and_the_resumed_run_is_the_uninterrupted_one(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "hwnas.cli", *ARGS, f"hydra.run.dir={run_dir}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    journal = run_dir / "trials.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.is_file() and journal.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the search ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1, err
    prefix = "hwnas search: interrupted; resume it with: "
    assert err.startswith(prefix) and "Traceback" not in err
    resume = shlex.split(err[len(prefix):].strip())
    assert resume == ["hwnas", *ARGS, f"hydra.run.dir={run_dir}", "resume=true"]
    assert not (run_dir / "summary.json").exists()

    resumed = hwnas(*resume[1:])
    assert resumed.returncode == 0, resumed.stderr
    whole = hwnas(*ARGS, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    summary, reference = (json.loads((d / "summary.json").read_text()) for d in (run_dir, tmp_path / "whole"))
    assert summary["resumed"]["trials"] > 0 and summary["best"] == reference["best"]
    columns = ["arch", "accuracy", "latency_ms", "feasible", "screened"]
    assert pd.read_parquet(run_dir / "trials.parquet")[columns].equals(
        pd.read_parquet(tmp_path / "whole" / "trials.parquet")[columns])
