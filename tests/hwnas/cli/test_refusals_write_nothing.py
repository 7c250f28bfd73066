"""A refused command writes nothing: the run folder Hydra created is gone after the one-line error, and a
refused resume leaves the existing run as it was."""

from __future__ import annotations

import pytest
from cli_runner import hwnas


@pytest.mark.parametrize("command, args, message", [
    ("search", ["device=nodev"], "unknown device"),
    ("search", ["device=pixel3", "budget_ms=0.001"], "infeasible on pixel3"),
    ("search", ["space=fbnet", "oracle=lut", "device=raspi4", "budget_ms=30"], "restrict_to_table=true"),  # after set-up
    ("search", ["strategy=nsga2", "objective=pareto", "budgets_ms=[a,b]"], "budgets_ms"),
    ("search", ["strategy=tpe", "strategy.storage=nosuchdb://x"], "cannot open Optuna storage"),
    ("calibrate", ["verify_max=0"], "verify_max must be >= 1"),
])
def test_a_refused_run_leaves_no_run_folder(tmp_path, command, args, message):
    run_dir = tmp_path / "run"
    result = hwnas(command, *args, "progress=false" if command == "search" else "max_evals=5",
                   f"hydra.run.dir={run_dir}")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not run_dir.exists(), sorted(p.name for p in run_dir.iterdir())


def test_a_refused_resume_keeps_the_run(tmp_path):
    run_dir = tmp_path / "run"
    args = ["search", "device=pixel3", "budget_ms=6.5", "max_evals=10", "progress=false", f"hydra.run.dir={run_dir}"]
    assert hwnas(*args).returncode == 0
    before = sorted(p.name for p in run_dir.iterdir())
    refused = hwnas(*args, "seed=9", "resume=true")
    assert refused.returncode == 2 and "config differs" in refused.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == before
