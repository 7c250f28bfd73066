"""ONNX export and the exported-model runtimes (onnxruntime, openvino): outputs equal eager torch, store settings,
errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas.core.errors import HwnasError
from hwnas.data import device_store
from hwnas.measure import onnx_runtime, openvino_runtime
from hwnas.measure.backend import BackendSettings, measure_arch
from hwnas.measure.export import model_bytes, onnx_bytes
from hwnas.predictors.measured import MeasuredOracle
from hwnas.search_spaces.fbnet import FBNet
from hwnas.search_spaces.nasbench201 import NasBench201
from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3

from measure_support import CONV3, FAST, store  # noqa: F401  (store: autouse fixture)


def _small_archs():
    rng = np.random.default_rng(0)
    nb201 = NasBench201(channels=4, cells_per_stage=1)
    fbnet, ofa = FBNet(), OfaMobileNetV3()
    smallest_ofa = ofa.from_string("r128:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3")
    return ([(nb201, tuple(a)) for a in nb201.sample(rng, 3)] + [(nb201, CONV3)]
            + [(nb201, (0, 0, 0, 0, 0, 0)), (nb201, (1, 0, 0, 0, 0, 0))]  # cells cut off from their input
            + [(fbnet, tuple(fbnet.sample(rng, 1)[0])), (ofa, smallest_ofa)])


RUN_EXPORTED = {"onnxruntime": lambda model, x: onnx_runtime.run_once(onnx_runtime.session(model), x),
                "openvino": lambda model, x: openvino_runtime.run_once(openvino_runtime.compiled(model), x)}


@pytest.mark.parametrize("runtime", RUN_EXPORTED)
@pytest.mark.parametrize("space, arch", _small_archs(), ids=lambda v: getattr(v, "name", ""))
def test_exported_runtime_output_equals_eager_torch(space, arch, runtime):
    torch.manual_seed(0)
    net = space.build(arch).eval()
    shape = tuple(space.input_shape(arch, 2))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    with torch.inference_mode():
        eager = net(torch.from_numpy(x)).numpy()
    out = RUN_EXPORTED[runtime](onnx_bytes(net, shape), x)
    assert out.shape == eager.shape
    assert np.abs(out - eager).max() <= 1e-4 * max(1.0, float(np.abs(eager).max()))


def test_torchscript_file_loads_and_matches():
    import io

    space = NasBench201(channels=4, cells_per_stage=1)
    net = space.build(CONV3).eval()
    shape = tuple(space.input_shape(CONV3, 1))
    loaded = torch.jit.load(io.BytesIO(model_bytes(net, shape, "torchscript")))
    x = torch.randn(shape)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), net(x), atol=1e-5)
    with pytest.raises(HwnasError, match="unknown export format 'tflite'"):
        model_bytes(net, shape, "tflite")


def test_onnxruntime_measurement_records_its_runtime_settings():
    space = NasBench201(channels=4, cells_per_stage=1)
    settings = BackendSettings(runtime="onnxruntime", **FAST).resolved()
    result = measure_arch(space, CONV3, settings)
    assert result.ok and result.latency_ms > 0 and result.repeats >= 3
    row = result.store_row(space)
    assert (row["runtime"], row["runtime_version"], row["graph_optimization"]) == \
           ("onnxruntime", onnx_runtime.version(), "all")
    torch_row = measure_arch(space, CONV3, BackendSettings(**FAST).resolved()).store_row(space)
    assert (torch_row["runtime"], torch_row["runtime_version"]) == ("torch", "")


def test_store_refuses_to_mix_runtimes():
    space = NasBench201(channels=4, cells_per_stage=1)
    MeasuredOracle(space, "local-mix", **FAST).predict_ms([CONV3])
    with pytest.raises(HwnasError, match="runtime': 'torch'.*runtime': 'onnxruntime'"):
        MeasuredOracle(space, "local-mix", runtime="onnxruntime", **FAST)
    ort = MeasuredOracle(space, "local-mix-ort", runtime="onnxruntime", **FAST)
    assert np.isfinite(ort.predict_ms([CONV3])).all()
    with pytest.raises(HwnasError, match="measured with"):
        MeasuredOracle(space, "local-mix-ort", runtime="onnxruntime", graph_optimization="basic", **FAST)


def test_a_store_written_before_runtimes_reads_as_torch(tmp_path):
    old_columns = device_store.COLUMNS[:-3]
    path = tmp_path / "nasbench201" / "local-old.csv"
    path.parent.mkdir(parents=True)
    values = {"index": "5", "arch": "a", "latency_ms": "1.0", "status": "ok", "backend": "cpu", "threads": "1",
              "batch_size": "1", "dtype": "float32", "channels_last": "false", "clock": "wall"}
    path.write_text(",".join(old_columns) + "\n" + ",".join(values.get(c, "") for c in old_columns) + "\n")
    torch_settings = BackendSettings(backend="cpu", clock="wall").resolved().device_settings()
    device_store.check_settings("nasbench201", "local-old", torch_settings)
    with pytest.raises(HwnasError, match="measured with"):
        device_store.check_settings("nasbench201", "local-old",
                                    BackendSettings(backend="cpu", runtime="onnxruntime", clock="wall").resolved().device_settings())
    device_store.append("nasbench201", "local-old", [{**values, **torch_settings}])
    assert len(device_store.read("nasbench201", "local-old")) == 2


@pytest.mark.parametrize("options, needle", [
    (dict(runtime="tensorrt"), "unknown measurement runtime 'tensorrt'"),
    (dict(runtime="onnxruntime", backend="cuda"), "CPU execution provider"),
    (dict(runtime="onnxruntime", dtype="float16"), "dtype=float32"),
    (dict(runtime="onnxruntime", graph_optimization="max"), "unknown graph_optimization 'max'"),
])
def test_bad_runtime_settings_are_one_line_errors(options, needle):
    with pytest.raises(HwnasError, match=needle) as info:
        BackendSettings(**options).resolved()
    assert "\n" not in str(info.value)
