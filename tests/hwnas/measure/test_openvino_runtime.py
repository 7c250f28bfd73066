"""The OpenVINO measurement runtime: outputs equal eager torch, store settings, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas.core.errors import HwnasError
from hwnas.data import device_store
from hwnas.measure import openvino_runtime
from hwnas.measure.backend import BackendSettings, measure_arch
from hwnas.measure.export import onnx_bytes
from hwnas.predictors.measured import MeasuredOracle
from hwnas.search_spaces.fbnet import FBNet
from hwnas.search_spaces.nasbench201 import NasBench201
from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3

FAST = dict(backend="cpu", warmup=1, min_repeats=3, max_repeats=20, check_every=2, time_cap_s=0.2)
CONV3 = (3, 3, 3, 3, 3, 3)


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))


def _archs():
    nb201, fbnet, ofa = NasBench201(channels=4, cells_per_stage=1), FBNet(), OfaMobileNetV3()
    return [(nb201, CONV3), (nb201, (0, 0, 0, 0, 0, 0)),  # the second is cut off from its input
            (fbnet, tuple(fbnet.sample(np.random.default_rng(0), 1)[0])),
            (ofa, ofa.from_string("r128:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3"))]


@pytest.mark.parametrize("space, arch", _archs(), ids=lambda v: getattr(v, "name", ""))
def test_openvino_output_equals_eager_torch(space, arch):
    torch.manual_seed(0)
    net = space.build(arch).eval()
    shape = tuple(space.input_shape(arch, 1))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    with torch.inference_mode():
        eager = net(torch.from_numpy(x)).numpy()
    out = openvino_runtime.run_once(openvino_runtime.compiled(onnx_bytes(net, shape)), x)
    assert out.shape == eager.shape
    assert np.abs(out - eager).max() <= 1e-4 * max(1.0, float(np.abs(eager).max()))


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
