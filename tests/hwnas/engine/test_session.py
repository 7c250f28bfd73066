"""One Session for every command, and the public Python API: the same config and seed give the CLI's result."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import hwnas as hwnas_cli

import hwnas
from hwnas.core.errors import HwnasError
from hwnas.engine.session import Session

ARGS = ["device=raspi4", "budget_ms=20", "strategy=evolution", "max_evals=60", "seed=2"]


def test_python_search_equals_the_command_line(tmp_path):
    cli = hwnas_cli("search", *ARGS, "progress=false", f"hydra.run.dir={tmp_path}")
    assert cli.returncode == 0, cli.stderr
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    from_python = hwnas.search(*ARGS, progress=False)
    assert from_python["best"] == on_disk["best"]
    assert from_python["ground_truth"] == on_disk["ground_truth"]
    assert from_python["strategy"] == on_disk["strategy"] == "evolution"
    assert len(from_python["records"]) == from_python["cost"]["trials"] == on_disk["cost"]["trials"]


def test_a_session_journals_and_resumes_from_python(tmp_path):
    first = hwnas.search(*ARGS, progress=False, run_dir=tmp_path)
    assert (tmp_path / "trials.jsonl").is_file() and (tmp_path / "summary.json").is_file()
    again = hwnas.search(*ARGS, progress=False, run_dir=tmp_path, resume=True)
    assert again["resumed"]["trials"] == first["cost"]["trials"]
    assert again["best"] == first["best"]


def test_session_parts_are_built_once_and_adapted():
    session = Session.compose("search", ["oracle=oneproxy", "device=eyeriss", "budget_ms=5", "samples=10"])
    assert session.oracle is session.oracle
    assert session.ledger.target_measurements["adapt"] == 10
    archs = session.space.sample(np.random.default_rng(0), 4)
    assert np.asarray(session.oracle.predict_ms(archs)).shape == (4,)


def test_predict_from_python_is_a_table():
    frame = hwnas.predict(oracle="lut", device="pixel3")
    assert len(frame) == 15_625 and list(frame.columns) == ["index", "arch", "predicted_ms", "measured"]
    assert not frame["measured"].any()


@pytest.mark.parametrize("overrides, message", [
    (["strategy=evolutoin"], "unknown strategy 'evolutoin'"),
    (["device=pixel9"], "unknown device for space nasbench201 'pixel9'"),
    (["budget_ms=0.001", "device=raspi4"], "budget_ms=0.001 is infeasible on raspi4"),
    (["max_evals=0"], "max_evals"),
    (["max_eval=5"], "unknown search option 'max_eval'"),
])
def test_bad_input_is_one_line(overrides, message):
    with pytest.raises(HwnasError) as info:
        Session.compose("search", overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_budget_relative_to_the_device_is_its_latency_quantile():
    from hwnas.data import devices

    summary = hwnas.search("device=fpga", "budget_quantile=0.3", max_evals=20, progress=False)
    table = devices.latency_ms("nasbench201", "fpga")
    assert summary["budget_ms"] == pytest.approx(float(np.quantile(table, 0.3)))
    assert summary["budget_quantile"] == 0.3 and summary["config"]["budget_ms"] == summary["budget_ms"]
    assert summary["ground_truth"]["n_feasible"] == int((table <= summary["budget_ms"]).sum())


@pytest.mark.parametrize("quantile, message", [(1.5, "budget_quantile must be in (0, 1]"), (0, "must be > 0")])
def test_a_bad_budget_quantile_is_one_line(quantile, message):
    with pytest.raises(HwnasError, match=message.replace("(", r"\(").replace("]", r"\]")):
        Session.compose("search", [f"budget_quantile={quantile}"])
