"""`hwnas calibrate` end to end on this CPU with OneProxy (bootstrap, adapt, search, verify)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hwnas.data import device_store

FAST = ["+space.channels=4", "+space.cells_per_stage=1", "warmup=1", "min_repeats=3", "check_every=2",
        "time_cap_s=0.1", "progress=false", "backend=cpu"]


def test_calibrate_counts_every_measurement_and_verifies(tmp_path):
    env = {**os.environ, device_store.ENV_VAR: str(tmp_path / "store")}
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "calibrate", "oracle=oneproxy", "max_evals=60",
                             "budget_ms=3", "verify_max=4", "refine=false", f"hydra.run.dir={tmp_path / 'run'}", *FAST],
                            capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    measurements = summary["cost"]["target_measurements"]
    assert summary["bootstrap"]["fresh"] == measurements["setup"] == 10
    assert measurements["verify"] == summary["verify"]["measurements"] >= 1
    assert summary["measurements_total"] == sum(measurements.values())
    steps = summary["verify"]["steps"]
    if summary["verify"]["verified"]:
        assert steps[-1]["within_budget"] and steps[-1]["measured_ms"] <= 3
        assert not any(s["within_budget"] for s in steps[:-1])
    else:
        assert len(steps) == 4 and not any(s["within_budget"] for s in steps)
    stored = len((tmp_path / "store" / "nasbench201" / "local-cpu.csv").read_text().splitlines()) - 1
    assert stored == summary["measurements_total"]
    assert "target measurements:" in result.stdout


def test_calibrate_refines_by_default_within_the_cap(tmp_path):
    env = {**os.environ, device_store.ENV_VAR: str(tmp_path / "store")}
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "calibrate", "oracle=oneproxy", "max_evals=40",
                             "budget_ms=3", "refine_every=20", "refine_batch=3", "refine_max_measurements=20",
                             f"hydra.run.dir={tmp_path / 'run'}", *FAST],
                            capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    measurements = summary["cost"]["target_measurements"]
    assert measurements["refine"] > 0 and summary["refine"]["refits"] >= 1
    assert measurements["adapt"] + measurements["refine"] + measurements["verify"] <= 20
    assert measurements["verify"] == summary["verify"]["measurements"]
    if summary["refine"]["verified"]:
        assert summary["refine"]["pick_measured_ms"] <= 3 and "verified:" in result.stdout
