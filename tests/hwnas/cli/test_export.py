"""`hwnas export`: an arch or a run folder's pick/front to ONNX (loads in onnxruntime) with its sidecar; errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.cli.commands.export import main
from hwnas.core.errors import HwnasError
from hwnas.measure import onnx_runtime

BEST = "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"
OTHER = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|none~2|"
SPACE = {"_target_": "hwnas.search_spaces.nasbench201.NasBench201", "num_classes": 10}


def _run_folder(path, objective="constrained"):
    path.mkdir()
    summary = {"space": "nasbench201", "objective": objective, "config": {"space": SPACE},
               "best": {"arch": BEST, "latency_ms": 5.7},
               "pareto": {"front": [{"arch": OTHER}, {"arch": BEST}]}}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_exported_arch_loads_in_onnxruntime_with_its_sidecar(tmp_path):
    [sidecar] = main(["space=nasbench201", f"arch={BEST}", f"out={tmp_path}"])
    assert sidecar["arch"] == BEST and sidecar["weights"] == "untrained" and sidecar["opset"] == 17
    assert sidecar["input_shape"] == [1, 3, 32, 32] and sidecar["parameters"] > 0 and sidecar["flops"] > 0
    on_disk = json.loads((tmp_path / sidecar["file"].replace(".onnx", ".json")).read_text())
    assert on_disk == json.loads(json.dumps(sidecar))
    session = onnx_runtime.session((tmp_path / sidecar["file"]).read_bytes())
    out = onnx_runtime.run_once(session, np.zeros(sidecar["input_shape"], dtype=np.float32))
    assert out.shape == (1, 10)
    import onnx

    assert onnx.load(str(tmp_path / sidecar["file"])).opset_import[0].version == 17


def test_run_folder_exports_its_best_pick_or_its_front(tmp_path):
    [best] = main([f"run={_run_folder(tmp_path / 'run')}", f"out={tmp_path / 'a'}", "format=torchscript"])
    assert best["arch"] == BEST and best["file"].endswith(".pt") and best["opset"] is None
    front = main([f"run={_run_folder(tmp_path / 'front', 'pareto')}", f"out={tmp_path / 'b'}"])
    assert [s["arch"] for s in front] == [OTHER, BEST]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "front_000.json", "front_000.onnx", "front_001.json", "front_001.onnx"]


def test_ofa_says_its_weights_are_not_shipped(tmp_path, capsys):
    arch = "r128:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3"
    [sidecar] = main(["space=ofa_mbv3", f"arch={arch}", f"out={tmp_path}"])
    assert "not shipped" in sidecar["weights_note"] and "ofa_net" in sidecar["weights_note"]
    assert "not shipped" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["run=/nonexistent/run"], "has no summary.json"),
    ([f"arch={BEST}", "format=tflite"], "unknown export format 'tflite'"),
    ([], "exactly one of arch="),
    ([f"arch={BEST}", "run=x"], "exactly one of arch="),
    ([f"arch={BEST}", "space=nb202"], "unknown search space 'nb202'"),
])
def test_bad_input_is_a_one_line_error(args, needle, tmp_path):
    with pytest.raises(HwnasError, match=needle) as info:
        main([*args, f"out={tmp_path}"])
    assert "\n" not in str(info.value)


def test_unwritable_out_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HwnasError, match="cannot write to output folder"):
        main([f"arch={BEST}", f"out={blocker / 'sub'}"])
