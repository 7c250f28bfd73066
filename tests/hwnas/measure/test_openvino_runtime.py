"""The OpenVINO measurement runtime: store settings, refusals (its outputs: test_runtimes.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.measure import openvino_runtime
from hwnas.measure.backend import BackendSettings, measure_arch
from hwnas.predictors.measured import MeasuredOracle
from hwnas.search_spaces.nasbench201 import NasBench201

from measure_support import CONV3, FAST, store  # noqa: F401  (store: autouse fixture)


def test_openvino_measurement_records_its_runtime_and_is_a_device_of_its_own():
    space = NasBench201(channels=4, cells_per_stage=1)
    result = measure_arch(space, CONV3, BackendSettings(runtime="openvino", **FAST).resolved())
    assert result.ok and result.latency_ms > 0 and result.repeats >= 3
    row = result.store_row(space)
    assert (row["runtime"], row["runtime_version"]) == ("openvino", openvino_runtime.version())
    ov = MeasuredOracle(space, "local-ov", runtime="openvino", **FAST)
    assert np.isfinite(ov.predict_ms([CONV3])).all()
    with pytest.raises(HwnasError, match="runtime': 'openvino'.*runtime': 'onnxruntime'"):
        MeasuredOracle(space, "local-ov", runtime="onnxruntime", **FAST)


def test_openvino_refuses_torch_only_settings():
    with pytest.raises(HwnasError, match="runtime=openvino runs on the CPU"):
        BackendSettings(runtime="openvino", backend="cuda").resolved()
    with pytest.raises(HwnasError, match="runtime=openvino times the exported float32 model"):
        BackendSettings(runtime="openvino", dtype="float16").resolved()
