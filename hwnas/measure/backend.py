"""Measuring architectures of any space on this machine: torch on CPU (threads) or CUDA (events), or ONNX Runtime.

Builds each architecture with `space.build`, then times batch inference. The plain CPU case is
`hwnas.measure.timing.measure_latency_ms`; other dtypes, `channels_last` and CUDA use the same stopping
rule (warm-up, then repeats until the median moves by less than `rel_tolerance`, or a time cap,
`timing.repeat_until_stable`), with CUDA timed by events around each forward and a synchronisation before reading them.
The settings that change latency are returned with every measurement; a network that cannot be
built or run gives a record with `status = "error: ..."`, never a crashed batch, and Ctrl-C keeps
every measurement finished before it (protocol as HW-NAS-Bench, Li et al. 2021; nn-Meter, Zhang et al. 2021).
"""

from __future__ import annotations

import platform
import socket
import time
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np

from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.measure.timing import MeasurementSettings, measure_latency_ms, repeat_until_stable, torch_threads
from hwnas.core.space import Arch, SearchSpace

BACKENDS = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
RUNTIMES = ("torch", "onnxruntime")
GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")  # ONNX Runtime's levels (onnx_runtime.py)


@dataclass(frozen=True)
class BackendSettings(MeasurementSettings):
    """Where and how to time: the timing rule of MeasurementSettings plus what the network runs on;
    `backend` auto picks CUDA when torch sees a GPU (ONNX Runtime: always the CPU)."""

    backend: str = "auto"
    batch_size: int = 1
    dtype: str = "float32"
    channels_last: bool = False
    runtime: str = "torch"
    graph_optimization: str = "all"

    def resolved(self) -> "BackendSettings":
        """Validated, with `backend` resolved to `cpu` or `cuda`."""
        if self.dtype not in DTYPES:
            raise unknown_choice("measurement dtype", self.dtype, DTYPES)
        if int(self.batch_size) < 1:
            raise HwnasError(f"measurement batch_size must be at least 1, got {self.batch_size}")
        if self.runtime not in RUNTIMES:
            raise unknown_choice("measurement runtime", self.runtime, RUNTIMES)
        if self.graph_optimization not in GRAPH_OPTIMIZATIONS:
            raise unknown_choice("graph_optimization", self.graph_optimization, GRAPH_OPTIMIZATIONS)
        if self.runtime == "onnxruntime":
            if self.backend not in ("auto", "cpu"):
                raise HwnasError(f"runtime=onnxruntime runs on the CPU execution provider; backend={self.backend} "
                                 "is torch's device choice (use backend=cpu or auto)")
            if self.dtype != "float32" or self.channels_last:
                raise HwnasError("runtime=onnxruntime times the exported float32 model: dtype=float32 and "
                                 "channels_last=false required")
            from hwnas.measure.export import require

            require("onnxruntime")
            return replace(self, backend="cpu", threads=int(self.threads), batch_size=int(self.batch_size))
        return replace(self, backend=select_backend(self.backend), threads=int(self.threads),
                       batch_size=int(self.batch_size), channels_last=bool(self.channels_last))

    def timing(self) -> MeasurementSettings:
        return MeasurementSettings(**{f.name: getattr(self, f.name) for f in fields(MeasurementSettings)})

    def device_settings(self) -> dict:
        """The settings that define a device in the store (they change latency)."""
        return {"backend": self.backend, "threads": int(self.threads), "batch_size": int(self.batch_size),
                "dtype": self.dtype, "channels_last": bool(self.channels_last), "clock": self.clock,
                **self.runtime_settings()}

    def runtime_settings(self) -> dict:
        """Runtime, its version and its settings; torch's are empty (its version stays the `torch` column,
        so stores measured before runtimes existed keep matching)."""
        if self.runtime == "torch":
            return {"runtime": "torch", "runtime_version": "", "graph_optimization": ""}
        from hwnas.measure.onnx_runtime import version

        return {"runtime": self.runtime, "runtime_version": version(), "graph_optimization": self.graph_optimization}

    def to_dict(self) -> dict:
        return asdict(self)


def select_backend(requested: str) -> str:
    """`auto` -> `cuda` when `torch.cuda.is_available()`, else `cpu`; `cuda` without a GPU is refused."""
    import torch

    if requested not in BACKENDS:
        raise unknown_choice("measurement backend", requested, BACKENDS)
    cuda = torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if cuda else "cpu"
    if requested == "cuda" and not cuda:
        raise HwnasError("backend=cuda but torch sees no CUDA GPU on this machine; valid here: cpu, auto")
    return requested


@dataclass(frozen=True)
class ArchMeasurement:
    """One architecture's measured latency on this machine, or why it has none."""

    arch: Arch
    index: int                  # row in the space's table, -1 when not tabled
    latency_ms: float           # median of the timed runs (NaN on error)
    spread_ms: float            # interquartile range of the timed runs
    min_ms: float               # fastest timed run (robust to a busy machine, see docs/measurement.md)
    repeats: int
    stable: bool
    status: str                 # "ok" or "error: ..."
    note: str                   # the space's warning for a degenerate arch (SearchSpace.arch_note)
    seconds: float              # wall time spent, building included

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def store_row(self, space: SearchSpace, settings: BackendSettings) -> dict:
        import torch

        spread = self.spread_ms / self.latency_ms if self.ok and self.latency_ms > 0 else float("nan")
        return {"index": self.index, "arch": space.to_string(self.arch), "latency_ms": self.latency_ms,
                "spread_ms": self.spread_ms, "rel_spread": spread, "min_ms": self.min_ms, "repeats": self.repeats, "stable": self.stable,
                "status": self.status, "note": self.note, **settings.device_settings(), "torch": torch.__version__,
                "host": f"{socket.gethostname()} {platform.machine()}",
                "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(self.seconds, 4)}


def cell_note(space: SearchSpace, arch: Arch) -> str:
    """The space's plain-words warning for an architecture that runs but is degenerate ("" when none)."""
    return space.arch_note(tuple(int(v) for v in arch))


def measure_arch(space: SearchSpace, arch: Arch, settings: BackendSettings) -> ArchMeasurement:
    """Build and time one architecture; any failure to build or run becomes an error record."""
    import torch

    if settings.backend == "auto":
        settings = settings.resolved()
    start = time.perf_counter()
    arch = tuple(int(v) for v in arch)
    index = _table_index(space, arch)
    note = cell_note(space, arch)
    stage = "build"
    try:
        model = space.build(arch)
        shape = tuple(space.input_shape(arch, settings.batch_size))
        stage = "run"
        if settings.runtime == "onnxruntime":
            from hwnas.measure.onnx_runtime import measure_onnxruntime

            result = measure_onnxruntime(model, shape, settings.timing(), settings.graph_optimization)
        elif settings.backend == "cpu" and settings.dtype == "float32" and not settings.channels_last:
            m = measure_latency_ms(model, shape, settings.timing())
            result = (m.median_ms, m.iqr_ms, m.min_ms, m.repeats, m.stable)
        else:
            result = _measure_custom(model, shape, settings)
    except (KeyboardInterrupt, HwnasError):
        raise
    except Exception as exc:  # noqa: BLE001 - any build/run failure is recorded, the batch goes on
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ArchMeasurement(arch, index, float("nan"), float("nan"), float("nan"), 0, False,
                               f"error: {stage} failed: {type(exc).__name__}: {message[:200]}", note,
                               time.perf_counter() - start)
    finally:
        if settings.backend == "cuda":
            torch.cuda.empty_cache()
    median, spread, fastest, repeats, stable = result
    return ArchMeasurement(arch, index, float(median), float(spread), float(fastest), int(repeats), bool(stable),
                           "ok", note,
                           time.perf_counter() - start)


@dataclass
class MeasureRun:
    results: list[ArchMeasurement]
    interrupted: bool = False


def measure_archs(space: SearchSpace, archs: Sequence[Arch], settings: BackendSettings,
                  on_each: Callable[[ArchMeasurement], None] | None = None) -> MeasureRun:
    """Measure `archs` one by one (calling `on_each` after each, e.g. to store it); Ctrl-C ends early
    and returns everything finished so far with `interrupted=True`."""
    settings = settings.resolved()
    run = MeasureRun([])
    try:
        for arch in archs:
            result = measure_arch(space, arch, settings)
            run.results.append(result)
            if on_each is not None:
                on_each(result)
    except KeyboardInterrupt:
        run.interrupted = True
    return run


def _table_index(space: SearchSpace, arch: Arch) -> int:
    try:
        return int(np.asarray(space.table_index([arch]))[0])
    except HwnasError:
        return -1


def _measure_custom(model, shape: tuple[int, ...], settings: BackendSettings) -> tuple[float, float, float, int, bool]:
    """Other dtypes, channels_last, and CUDA (events + synchronize), with the shared stopping rule."""
    import torch

    dtype = getattr(torch, settings.dtype)
    target = torch.device("cuda" if settings.backend == "cuda" else "cpu")
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    model = model.eval().to(device=target, dtype=dtype)
    x = torch.randn(shape, device=target, dtype=dtype)
    if settings.channels_last and x.dim() == 4:
        model = model.to(memory_format=memory_format)
        x = x.contiguous(memory_format=memory_format)
    timing = settings.timing()
    with torch_threads(timing.threads), torch.inference_mode():
        if settings.backend == "cuda":
            def once() -> float:
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                model(x)
                end.record()
                end.synchronize()
                return float(begin.elapsed_time(end))

            torch.cuda.synchronize()
        else:
            clock = time.thread_time if timing.clock == "thread_cpu" else time.perf_counter

            def once() -> float:
                t0 = clock()
                model(x)
                return (clock() - t0) * 1e3
        samples, stable = repeat_until_stable(once, timing)
    q25, q50, q75 = np.percentile(samples, [25, 50, 75])
    return float(q50), float(q75 - q25), float(samples.min()), len(samples), stable
