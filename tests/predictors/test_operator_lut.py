"""Per-operator latency table on FBNet (fast settings): batched sum, cache, calibration, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.search_spaces import _help_data
from hwnas.core.errors import HwnasError
from hwnas.predictors.operator_lut import OperatorLUT
from hwnas.search_spaces.fbnet import FBNet

FAST = dict(warmup=0, min_repeats=1, time_cap_s=0.01)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oplut")
    return OperatorLUT(FBNet(), "raspi4", cache_dir=str(folder), **FAST), folder


def test_every_operator_measured_once_and_summed(built):
    lut, _ = built
    space = lut.space
    assert lut.measured_now == len(space.operators()) == len(lut.operator_ms)
    assert (lut.operator_ms > 0).all()
    archs = space.table_archs()[:20]
    by_key = dict(zip([s.key for s in space.operators()], lut.operator_ms))
    expected = [sum(by_key[s.key] for s in space.layer_specs(tuple(a))) for a in archs]
    assert np.allclose(lut.local_ms(archs), expected)
    assert lut.setup_cost().shared_measurements == lut.measured_now


def test_cache_is_reused_and_corruption_is_reported(built):
    lut, folder = built
    again = OperatorLUT(FBNet(), "pixel3", cache_dir=str(folder), **FAST)
    assert again.measured_now == 0 and np.array_equal(again.operator_ms, lut.operator_ms)
    path = lut._cache_file()
    saved = path.read_text()
    try:
        path.write_text(json.dumps({"entries": {"x": {"median_ms": "slow"}}}))
        with pytest.raises(HwnasError, match="corrupt operator latency cache"):
            OperatorLUT(FBNet(), "raspi4", cache_dir=str(folder), **FAST)
    finally:
        path.write_text(saved)


def test_calibration_fits_a_line_on_reference_measurements(built):
    lut, _ = built
    refs = lut.reference_archs()
    rows = lut.space.table_index(refs)
    assert list(rows) == list(_help_data.reference_rows("fbnet").rows)[:10]
    target = 3.0 * lut.local_ms(refs) + 1.5
    lut.adapt(refs, target)
    others = lut.space.table_archs()[100:110]
    assert np.allclose(lut.predict_ms(others), 3.0 * lut.local_ms(others) + 1.5)


def test_refuses_a_space_without_operators(nb201):
    with pytest.raises(HwnasError, match="fbnet, ofa_mbv3"):
        OperatorLUT(nb201, "pixel3")


def test_onnxruntime_operator_table_is_cached_apart_from_torchs(tmp_path, monkeypatch):
    space = FBNet()
    specs = space.operators()[:3]
    monkeypatch.setattr(space, "operators", lambda: specs)
    ort = OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), runtime="onnxruntime", **FAST)
    assert ort.measured_now == 3 and (ort.operator_ms > 0).all()
    eager = OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), **FAST)
    assert eager.measured_now == 3 and eager._cache_file() != ort._cache_file()
    assert OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), runtime="onnxruntime", **FAST).measured_now == 0
    with pytest.raises(HwnasError, match="unknown measurement runtime"):
        OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), runtime="tvm", **FAST)


def test_openvino_operator_table_is_a_table_of_its_own(tmp_path, monkeypatch):
    space = FBNet()
    specs = space.operators()[:3]
    monkeypatch.setattr(space, "operators", lambda: specs)
    ov = OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), runtime="openvino", **FAST)
    assert ov.measured_now == 3 and (ov.operator_ms > 0).all()
    ort = OperatorLUT(space, "raspi4", cache_dir=str(tmp_path), runtime="onnxruntime", **FAST)
    assert ort.measured_now == 3 and ort._cache_file() != ov._cache_file()
