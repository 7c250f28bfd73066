"""The `measured` oracle and its backend: real CPU timings of small NB201 networks, error records,
Ctrl-C, the store, and the CUDA selection logic (no GPU here: only the choice of backend is tested)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas.data import device_store
from hwnas.core.errors import HwnasError
from hwnas.measure.backend import BackendSettings, cell_note, measure_archs, select_backend
from hwnas.predictors.measured import MeasuredOracle
from hwnas.search_spaces.nasbench201 import NasBench201

from measure_support import CONV3, FAST, store  # noqa: F401  (store: autouse fixture)

CUT_OFF = (0, 0, 0, 0, 0, 0)


@pytest.fixture
def small():
    return NasBench201(channels=4, cells_per_stage=1)


def test_measures_positive_ms_and_stores_every_measurement(small):
    oracle = MeasuredOracle(small, "local-test", **FAST)
    latency = oracle.predict_ms([CONV3, (1, 1, 1, 1, 1, 1), CONV3])
    assert latency.shape == (3,) and (latency > 0).all() and latency[0] == latency[2]
    assert oracle.fresh_measurements == 2  # the repeat is answered from the cache
    rows = device_store.read("nasbench201", "local-test")
    assert [r["index"] for r in rows] == list(small.index([CONV3, (1, 1, 1, 1, 1, 1)]))
    assert {(r["backend"], r["threads"], r["dtype"], r["status"]) for r in rows} == {("cpu", "1", "float32", "ok")}
    reused = MeasuredOracle(small, "local-test", **FAST)
    np.testing.assert_array_equal(reused.predict_ms([CONV3]), [latency[0]])
    assert reused.fresh_measurements == 0


def test_a_cut_off_cell_is_flagged_and_measured(small):
    assert cell_note(small, CUT_OFF).startswith("cell output cut off")
    assert cell_note(small, (3, 0, 0, 0, 0, 3))  # node 2 gets nothing, so 2 -> 3 carries nothing
    assert cell_note(small, (3, 0, 0, 0, 3, 0)) == ""  # 0 -> 1 -> 3
    run = measure_archs(small, [CUT_OFF], BackendSettings(**FAST))
    assert run.results[0].ok and run.results[0].note


class _Broken(NasBench201):
    """Builds a network that fails at run time for one architecture."""

    def build(self, arch):
        if tuple(arch) == CONV3:
            return torch.nn.Linear(7, 7)  # wrong input shape: RuntimeError in forward
        return super().build(arch)


def test_an_architecture_that_cannot_run_is_a_record_not_a_crash():
    space = _Broken(channels=4, cells_per_stage=1)
    run = measure_archs(space, [(1,) * 6, CONV3, (2,) * 6], BackendSettings(**FAST))
    assert [r.ok for r in run.results] == [True, False, True]
    assert run.results[1].status.startswith("error: run failed: RuntimeError")
    assert np.isnan(run.results[1].latency_ms)
    oracle = MeasuredOracle(space, "local-broken", **FAST)
    assert oracle.predict_ms([CONV3])[0] == np.inf and len(oracle.failures) == 1


def test_ctrl_c_keeps_what_was_measured(small):
    seen = []

    def interrupt_after_two(result):
        seen.append(result)
        if len(seen) == 2:
            raise KeyboardInterrupt

    run = measure_archs(small, [(1,) * 6, (2,) * 6, CONV3, (4,) * 6], BackendSettings(**FAST),
                        on_each=interrupt_after_two)
    assert run.interrupted and len(run.results) == 2


def test_other_dtypes_and_channels_last_take_the_custom_path(small):
    settings = BackendSettings(**{**FAST, "dtype": "bfloat16", "channels_last": True})
    result = measure_archs(small, [CONV3], settings).results[0]
    assert result.ok and result.latency_ms > 0 and result.repeats >= 3


def test_thread_cpu_clock_is_a_device_setting_and_times_both_paths(small, monkeypatch):
    settings = BackendSettings(**FAST, clock="thread_cpu").resolved()
    assert settings.timing().clock == "thread_cpu" and settings.device_settings()["clock"] == "thread_cpu"
    custom = BackendSettings(**FAST, clock="thread_cpu", channels_last=True)
    for run in (measure_archs(small, [CONV3], settings), measure_archs(small, [CONV3], custom)):
        assert run.results[0].ok and run.results[0].latency_ms > 0
    MeasuredOracle(small, "local-cpu-clock", **FAST, clock="thread_cpu").predict_ms([CONV3])
    with pytest.raises(HwnasError, match="settings"):  # a device holds one clock: wall is refused now
        MeasuredOracle(small, "local-cpu-clock", **FAST, clock="wall")
    assert MeasuredOracle(small, "local-cpu-clock", **FAST).settings.clock == "thread_cpu"  # auto: the device's
    with pytest.raises(HwnasError, match="clock"):
        BackendSettings(**FAST, clock="cycles")
    with pytest.raises(HwnasError, match="needs threads=1"):
        BackendSettings(**{**FAST, "threads": 2}, clock="thread_cpu")


def test_backend_selection(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_backend("auto") == "cuda" and select_backend("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_backend("auto") == "cpu"
    with pytest.raises(HwnasError, match="no CUDA GPU"):
        select_backend("cuda")
    with pytest.raises(HwnasError, match="Did you mean: cuda"):
        select_backend("cdua")


@pytest.mark.parametrize("device", ["raspi4", "rice_raspi4"])
def test_a_shipped_device_is_refused_with_a_pointer_to_lut(nb201, device):
    with pytest.raises(HwnasError, match=f"{device} is a shipped table device.*use oracle=lut"):
        MeasuredOracle(nb201, device)


@pytest.mark.parametrize("bad, message", [([(0,) * 5], "5 choices"), ([(9,) * 6], "out of range")])
def test_malformed_archs_are_refused(small, bad, message):
    with pytest.raises(HwnasError, match=message):
        MeasuredOracle(small, "local-test", **FAST).predict_ms(bad)


def test_bad_settings_are_one_line_errors(small):
    with pytest.raises(HwnasError, match="Did you mean: float16"):
        MeasuredOracle(small, "local-test", **{**FAST, "dtype": "float61"})
    with pytest.raises(HwnasError, match="max_repeats"):
        MeasuredOracle(small, "local-test", **{**FAST, "min_repeats": 50})
    with pytest.raises(HwnasError, match="oracle measured: store must be true or false, got 'maybe'"):
        MeasuredOracle(small, "local-test", **{**FAST, "store": "maybe"})
