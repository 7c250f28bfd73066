"""The local device store: round trip, one device = one setting, concurrent writers, torn rows."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from hwnas.data import device_store
from hwnas.core.errors import HwnasError

SETTINGS = {"backend": "cpu", "threads": 1, "batch_size": 1, "dtype": "float32", "channels_last": False}


def row(index: int, latency_ms: float, **extra) -> dict:
    return {"index": index, "arch": f"arch{index}", "latency_ms": latency_ms, "status": "ok", **SETTINGS, **extra}


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path / "store"))
    return tmp_path / "store"


def test_round_trip_and_median_per_row(store):
    device_store.append("nasbench201", "local-a", [row(3, 2.0), row(3, 4.0), row(7, 1.5)])
    device_store.append("nasbench201", "local-a", [row(3, 9.0), row(5, float("nan"), status="error: run failed")])
    assert (store / "nasbench201" / "local-a.csv").is_file()
    rows = device_store.read("nasbench201", "local-a")
    assert [r["index"] for r in rows] == [3, 3, 7, 3, 5]
    table = device_store.table("nasbench201", "local-a", 10)
    assert table.latency_ms[3] == 4.0 and table.latency_ms[7] == 1.5
    assert np.isnan(table.latency_ms[5]) and np.isfinite(table.latency_ms).sum() == 2
    assert table.settings["threads"] == "1" and table.measurements == 4


def test_other_settings_are_refused_naming_both(store):
    device_store.append("nasbench201", "local-a", [row(1, 1.0)])
    with pytest.raises(HwnasError, match="measured with .*threads.*'1'.*not.*'4'"):
        device_store.append("nasbench201", "local-a", [row(2, 1.0, threads=4)])
    with pytest.raises(HwnasError, match="measured with"):
        device_store.check_settings("nasbench201", "local-a", {**SETTINGS, "dtype": "bfloat16"})
    device_store.check_settings("nasbench201", "local-a", SETTINGS)


@pytest.mark.parametrize("name", ["pixel3", "local-", "local-CPU", "local-a/b", "../local-x"])
def test_only_local_names_hold_measurements(name):
    with pytest.raises(HwnasError, match="local-<name>"):
        device_store.device_file("nasbench201", name)


def _writer(args) -> None:
    path, worker = args
    import os

    os.environ[device_store.ENV_VAR] = path
    for i in range(40):
        device_store.append("nasbench201", "local-c", [row(worker * 1000 + i, float(i + 1)),
                                                        row(worker * 1000 + i, float(i + 1))])


def test_concurrent_writers_do_not_corrupt(store):
    with mp.get_context("spawn").Pool(4) as pool:
        pool.map(_writer, [(str(store), w) for w in range(4)])
    rows = device_store.read("nasbench201", "local-c")
    assert len(rows) == 4 * 40 * 2
    text = (store / "nasbench201" / "local-c.csv").read_text()
    assert text.count("index,arch,latency_ms") == 1
    assert sorted({r["index"] for r in rows}) == sorted(w * 1000 + i for w in range(4) for i in range(40))


def test_a_torn_last_row_is_skipped_and_appending_goes_on(store):
    device_store.append("nasbench201", "local-t", [row(1, 1.0)])
    path = store / "nasbench201" / "local-t.csv"
    with open(path, "a") as fh:
        fh.write("2,arch2,3.")  # a writer killed mid-row
    with pytest.warns(UserWarning, match="malformed row"):
        assert [r["index"] for r in device_store.read("nasbench201", "local-t")] == [1]
    with pytest.warns(UserWarning, match="malformed row"):
        device_store.append("nasbench201", "local-t", [row(4, 2.0)])
    with pytest.warns(UserWarning, match="malformed row"):
        assert [r["index"] for r in device_store.read("nasbench201", "local-t")] == [1, 4]


def test_a_corrupt_file_is_a_one_line_error(store):
    path = store / "nasbench201" / "local-x.csv"
    path.parent.mkdir(parents=True)
    path.write_text("not,a,store,file\n1,2,3,4\n")
    with pytest.raises(HwnasError, match="corrupt device store file .*local-x.csv"):
        device_store.read("nasbench201", "local-x")


def test_a_store_written_before_the_clock_column_reads_as_wall_clock(store):
    old = [c for c in device_store.COLUMNS if c != "clock"]
    path = store / "nasbench201" / "local-old.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(old) + "\n" + ",".join({"index": "3", "arch": "arch3", "latency_ms": "2.0",
                                                      "status": "ok", "backend": "cpu", "threads": "1",
                                                      "batch_size": "1", "dtype": "float32",
                                                      "channels_last": "false"}.get(c, "") for c in old) + "\n")
    device_store.check_settings("nasbench201", "local-old", {**SETTINGS, "clock": "wall"})
    with pytest.raises(HwnasError, match="thread_cpu"):
        device_store.check_settings("nasbench201", "local-old", {**SETTINGS, "clock": "thread_cpu"})
    device_store.append("nasbench201", "local-old", [row(4, 3.0, clock="wall")])
    assert [r["index"] for r in device_store.read("nasbench201", "local-old")] == [3, 4]
