"""The device catalogue: coverage, kinds, batch sizes, and budget feasibility."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.search_spaces import _help_data


def test_nb201_catalogue_holds_help_and_oneproxy_devices():
    table = devices.devices("nasbench201")
    assert len(table) == 27 + 18
    assert table["pixel3"].n_archs == 15_625
    assert table["rice_pixel3"].n_archs == 1_999
    assert table["rice_edgetpu"].n_archs == 1_999 - 259


@pytest.mark.parametrize("name, kind, batch", [
    ("titan_rtx_256", "GPU", 256), ("1080ti_1", "GPU", 1), ("gold_6226", "CPU", None),
    ("pixel2", "phone", None), ("raspi4", "embedded CPU", None), ("eyeriss", "ASIC", None),
    ("fpga", "FPGA", None), ("rice_edgetpu", "edge TPU", None), ("true_a76", "mobile CPU", None),
    ("eagle_dsp_855", "mobile DSP", None),
])
def test_kinds_and_batch_sizes(name, kind, batch):
    device = devices.devices("nasbench201")[name]
    assert (device.kind, device.batch_size) == (kind, batch)


def test_every_device_has_a_known_kind():
    assert all(d.kind != "other" for d in devices.catalogue())


def test_fbnet_and_ofa_devices():
    assert devices.devices("fbnet")["titan_rtx_64"].batch_size == 64
    ofa = devices.devices("ofa_mbv3")
    assert len(ofa) == 12 and all(d.kind == "GPU" and d.n_archs == 5_000 for d in ofa.values())


def test_latency_vector_matches_the_table():
    vector = devices.latency_ms("nasbench201", "raspi4")
    np.testing.assert_array_equal(vector, _help_data.nb201_help_latency()["raspi4"].to_numpy())
    partial = devices.latency_ms("nasbench201", "rice_raspi4")
    frame = _help_data.nb201_oneproxy_latency()
    np.testing.assert_allclose(partial[frame.index.to_numpy()], frame["rice_raspi4"].to_numpy())
    assert np.isnan(partial).sum() == 15_625 - 1_999


def test_unknown_device_lists_close_matches_first():
    with pytest.raises(HwnasError, match=r"unknown device for space nasbench201 'pixle3'\. Did you mean: pixel3"):
        devices.require_device("nasbench201", "pixle3")


def test_unknown_space():
    with pytest.raises(HwnasError, match="Did you mean: nasbench201"):
        devices.devices("nasbench210")


def test_infeasible_budget_names_the_fastest_latency():
    fastest = np.nanmin(devices.latency_ms("nasbench201", "raspi4"))
    with pytest.raises(HwnasError, match=rf"infeasible on raspi4.*takes {fastest:.4g} ms"):
        devices.check_budget("nasbench201", "raspi4", fastest * 0.5)
    devices.check_budget("nasbench201", "raspi4", fastest)  # exactly the fastest is feasible
