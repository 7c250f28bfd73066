"""Timing a network in ONNX Runtime (CPU execution provider), with the shared stopping rule of timing.py.

The network is exported to ONNX in memory (hwnas.measure.export), loaded in an `InferenceSession` with
`threads` intra-op threads, one inter-op thread, sequential execution and the chosen graph optimisation level.
"""

from __future__ import annotations

import time

import numpy as np

from hwnas.measure.export import INPUT_NAME, onnx_bytes, require
from hwnas.measure.timing import MeasurementSettings, repeat_until_stable

GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")


def version() -> str:
    return str(require("onnxruntime").__version__)


def session(model_onnx: bytes, threads: int = 1, graph_optimization: str = "all"):
    """An ONNX Runtime CPU session for a serialized model."""
    ort = require("onnxruntime")
    level = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
             "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
             "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
             "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[graph_optimization]
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    options.log_severity_level = 3
    return ort.InferenceSession(model_onnx, options, providers=["CPUExecutionProvider"])


def feed(sess, x: np.ndarray) -> dict:
    """The input of a session: {} when the exporter found the output independent of it (an NB201 cell cut off
    from its input) and dropped it."""
    names = {i.name for i in sess.get_inputs()}
    return {INPUT_NAME: np.ascontiguousarray(x, dtype=np.float32)} if INPUT_NAME in names else {}


def run_once(sess, x: np.ndarray) -> np.ndarray:
    """One inference: the first output for input `x` (float32)."""
    return sess.run(None, feed(sess, x))[0]


def time_session(sess, input_shape: tuple[int, ...], timing: MeasurementSettings) -> tuple[np.ndarray, bool]:
    """Per-run ms of one session on a fixed random input, under the shared stopping rule, and whether it settled."""
    x = np.random.default_rng(0).standard_normal(tuple(int(d) for d in input_shape)).astype(np.float32)
    inputs = feed(sess, x)
    clock = time.thread_time if timing.clock == "thread_cpu" else time.perf_counter

    def once() -> float:
        t0 = clock()
        sess.run(None, inputs)
        return (clock() - t0) * 1e3

    samples, stable = repeat_until_stable(once, timing)
    return np.asarray(samples, dtype=float), stable


def measure_onnxruntime(model, input_shape: tuple[int, ...], timing: MeasurementSettings,
                        graph_optimization: str = "all") -> tuple[float, float, float, int, bool]:
    """Export `model`, then time it in ONNX Runtime: (median ms, IQR ms, fastest ms, repeats, stable)."""
    sess = session(onnx_bytes(model, input_shape), timing.threads, graph_optimization)
    samples, stable = time_session(sess, input_shape, timing)
    q25, q50, q75 = np.percentile(samples, [25, 50, 75])
    return float(q50), float(q75 - q25), float(samples.min()), len(samples), stable
