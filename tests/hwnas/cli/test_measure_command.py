"""`hwnas measure`: same seed, same architectures; re-running adds measurements; `out=` CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from hwnas.data import device_store
from hwnas.cli.commands.measure import choose_archs
from hwnas.core.errors import HwnasError

FAST = ["+space.channels=4", "+space.cells_per_stage=1", "warmup=1", "min_repeats=3", "check_every=2",
        "time_cap_s=0.1", "progress=false", "backend=cpu"]


def measure(*overrides):
    from hydra import compose, initialize_config_dir

    from hwnas.cli.commands import measure as command
    from hwnas.config import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return command.run(compose(config_name="measure", overrides=[*FAST, *overrides]))


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path / "store"))


def test_same_seed_same_architectures(nb201):
    assert choose_archs(nb201, 20, 3) == choose_archs(nb201, 20, 3) != choose_archs(nb201, 20, 4)
    assert len(set(choose_archs(nb201, 20, 3))) == 20
    excluded = nb201.index(choose_archs(nb201, 20, 3))
    assert not set(nb201.index(choose_archs(nb201, 50, 3, exclude_rows=excluded))) & set(excluded)
    assert choose_archs(nb201, 0, 0, indices=[7, 9]) == nb201.from_index([7, 9])
    with pytest.raises(HwnasError, match="out of range"):
        choose_archs(nb201, 0, 0, indices=[15_625])


def test_measure_writes_store_and_csv_and_adds_on_rerun(tmp_path, capsys):
    out = tmp_path / "m.csv"
    measure("n=3", "seed=5", f"out={out}")
    frame = pd.read_csv(out)
    assert list(frame.columns[:4]) == ["index", "arch", "latency_ms", "spread_ms"]
    assert len(frame) == 3 and (frame["latency_ms"] > 0).all() and (frame["status"] == "ok").all()
    assert "measured 3 of 3" in capsys.readouterr().out
    measure("n=3", "seed=5")
    rows = device_store.read("nasbench201", "local-cpu")
    assert len(rows) == 6 and [r["index"] for r in rows[:3]] == [r["index"] for r in rows[3:]]
    assert [r["index"] for r in rows[:3]] == frame["index"].tolist()
    measure("n=2", "seed=5", "skip_measured=true")
    assert not {r["index"] for r in device_store.read("nasbench201", "local-cpu")[6:]} & set(frame["index"])
    with pytest.raises(HwnasError, match="measured with"):
        measure("n=1", "threads=2")


def test_a_shipped_device_cannot_be_measured_here():
    with pytest.raises(HwnasError, match="local-<name>"):
        measure("device=pixel3", "n=1")


def test_runtime_onnxruntime_is_a_device_of_its_own(tmp_path):
    frame = measure("n=2", "runtime=onnxruntime", "device=local-ort")
    assert (frame["status"] == "ok").all() and set(frame["runtime"]) == {"onnxruntime"}
    with pytest.raises(HwnasError, match="measured with"):
        measure("n=1", "device=local-ort")


def test_the_default_clock_is_steady_on_a_shared_machine_and_a_device_keeps_its_clock(capsys):
    measure("n=4", "seed=1")  # one thread: the thread-CPU clock (other processes' load barely moves it)
    assert {r["clock"] for r in device_store.read("nasbench201", "local-cpu")} == {"thread_cpu"}
    out = capsys.readouterr().out
    assert "repeatability: Spearman " in out and "between two passes over 4 architectures" in out
    assert "clock=thread_cpu" in out
    measure("n=3", "seed=2", "threads=2", "device=local-cpu-t2")  # several threads: wall
    assert {r["clock"] for r in device_store.read("nasbench201", "local-cpu-t2")} == {"wall"}
    measure("n=3", "seed=2", "clock=wall", "device=local-old")  # a device measured with the wall clock...
    measure("n=3", "seed=3", "device=local-old")                # ...keeps it under the default clock=auto
    assert {r["clock"] for r in device_store.read("nasbench201", "local-old")} == {"wall"}
    measure("n=3", "seed=4", "repeat_check=0")
    assert "repeatability: not checked" in capsys.readouterr().out
