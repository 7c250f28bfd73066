"""Model files from a built network: ONNX (torch's TorchScript-based exporter, `dynamo=False`) or TorchScript.

The dynamo exporter took 53-70 s per network on this machine; the TorchScript-based one 0.1-0.3 s per NB201
network (experiments/export_benchmark.py), so it is the one used. onnx/onnxruntime are the `[onnx]` extra.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from hwnas.core.errors import HwnasError, unknown_choice

if TYPE_CHECKING:  # pragma: no cover
    import torch

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "output"


def require(package: str):
    """Import an optional package (onnx, onnxruntime) or say in one line how to install it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        extra = "openvino" if package == "openvino" else "onnx"
        raise HwnasError(f"{package} is not installed; install the extra: pip install 'hwnas[{extra}]'") from None


def onnx_bytes(model: "torch.nn.Module", input_shape: tuple[int, ...], opset: int = OPSET) -> bytes:
    """The eval-mode network as an ONNX model (float32 input of `input_shape`, fixed shape)."""
    import torch

    model = model.eval()
    x = torch.zeros(tuple(int(d) for d in input_shape))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(model, (x,), buffer, opset_version=int(opset), input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], do_constant_folding=True, **_torchscript_exporter(torch))
    return buffer.getvalue()


def _torchscript_exporter(torch) -> dict:
    """Ask for the TorchScript-based exporter (about 1 s per network; dynamo took 53-70 s): torch >= 2.9
    defaults to dynamo, and torch < 2.5 has no `dynamo` argument (and only the TorchScript one)."""
    import inspect

    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def torchscript_bytes(model: "torch.nn.Module", input_shape: tuple[int, ...]) -> bytes:
    """The eval-mode network traced to TorchScript (`torch.jit.load` reads it)."""
    import torch

    model = model.eval()
    x = torch.zeros(tuple(int(d) for d in input_shape))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(model, x), buffer)
    return buffer.getvalue()


def model_bytes(model: "torch.nn.Module", input_shape: tuple[int, ...], fmt: str = "onnx",
                opset: int = OPSET) -> bytes:
    """The network in `fmt` (onnx | torchscript)."""
    if fmt not in FORMATS:
        raise unknown_choice("export format", fmt, FORMATS)
    if fmt == "onnx":
        return onnx_bytes(model, input_shape, opset)
    return torchscript_bytes(model, input_shape)
