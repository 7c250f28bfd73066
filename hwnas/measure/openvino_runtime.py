"""Timing a network in OpenVINO (CPU plugin), with the shared stopping rule of timing.py.

The network is exported to ONNX in memory (hwnas.measure.export), read by OpenVINO and compiled for the CPU
with `threads` inference threads, one stream, the latency hint and float32 precision, so it times what a
single-request deployment on this CPU runs.
"""

from __future__ import annotations

import time

import numpy as np

from hwnas.measure.export import onnx_bytes, require
from hwnas.measure.timing import MeasurementSettings, repeat_until_stable


def version() -> str:
    return str(require("openvino").__version__)


def compiled(model_onnx: bytes, threads: int = 1):
    """An OpenVINO CPU model compiled from a serialized ONNX model."""
    ov = require("openvino")
    core = ov.Core()
    return core.compile_model(core.read_model(model_onnx), "CPU", {
        "INFERENCE_NUM_THREADS": int(threads), "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32"})


def run_once(model, x: np.ndarray) -> np.ndarray:
    """One inference: the first output for input `x` (float32); a model whose input the exporter dropped
    (an NB201 cell cut off from its input) takes none."""
    request = model.create_infer_request()
    request.infer({0: np.ascontiguousarray(x, dtype=np.float32)} if model.inputs else {})
    return request.get_output_tensor(0).data.copy()


def measure_openvino(model, input_shape: tuple[int, ...], timing: MeasurementSettings
                     ) -> tuple[float, float, float, int, bool]:
    """Export `model`, then time it in OpenVINO: (median ms, IQR ms, fastest ms, repeats, stable)."""
    net = compiled(onnx_bytes(model, input_shape), timing.threads)
    x = np.random.default_rng(0).standard_normal(tuple(int(d) for d in input_shape)).astype(np.float32)
    request = net.create_infer_request()
    inputs = {0: x} if net.inputs else {}
    clock = time.thread_time if timing.clock == "thread_cpu" else time.perf_counter

    def once() -> float:
        t0 = clock()
        request.infer(inputs)
        return (clock() - t0) * 1e3

    samples, stable = repeat_until_stable(once, timing)
    samples = np.asarray(samples, dtype=float)
    q25, q50, q75 = np.percentile(samples, [25, 50, 75])
    return float(q50), float(q75 - q25), float(samples.min()), len(samples), stable
