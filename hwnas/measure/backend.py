"""Measuring architectures of any space: torch on CPU (threads) or CUDA (events), or ONNX Runtime; here or on a Ray node.

Builds each architecture with `space.build`, then times batch inference. The plain CPU case is
`hwnas.measure.timing.measure_latency_ms`; other dtypes, `channels_last` and CUDA use the same stopping
rule (warm-up, then repeats until the median moves by less than `rel_tolerance`, or a time cap,
`timing.repeat_until_stable`), with CUDA timed by events around each forward and a synchronisation before reading them.
The settings that change latency are returned with every measurement; a network that cannot be
built or run gives a record with `status = "error: ..."`, never a crashed batch, and Ctrl-C keeps
every measurement finished before it (protocol as HW-NAS-Bench, Li et al. 2021; nn-Meter, Zhang et al. 2021).
A meter does the measuring: `LocalMeter` in this process, or with `executor=ray` the optional
`hwnas.measure.remote_ray.RayMeter` on the cluster node that holds the device (imported only then).
"""

from __future__ import annotations

import platform
import socket
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np

from hwnas.core.errors import HwnasError, positive_number, unknown_choice
from hwnas.measure.onnx_runtime import GRAPH_OPTIMIZATIONS  # ONNX Runtime's levels (imports no runtime)
from hwnas.measure.timing import MeasurementSettings, measure_latency_ms, repeat_until_stable, torch_threads
from hwnas.core.space import Arch, SearchSpace

BACKENDS = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
RUNTIMES = ("torch", "onnxruntime", "openvino")
EXPORTED = ("onnxruntime", "openvino")  # runtimes that run the exported float32 ONNX model on the CPU
EXECUTORS = ("local", "ray")    # where build + timing run: this process, or a Ray node (remote_ray.py)


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
    executor: str = "local"
    device_resource: str | None = None   # executor=ray: the Ray custom resource of the device's node
    ray_address: str = "auto"
    remote_timeout_s: float = 600.0

    def resolved(self) -> "BackendSettings":
        """Validated, with `backend` resolved to `cpu` or `cuda` (with executor=ray: on the device's node,
        by `resolved_here` there; here only the checks that need no device)."""
        if self.executor not in EXECUTORS:
            raise unknown_choice("measurement executor", self.executor, EXECUTORS)
        positive_number("measurement settings", "remote_timeout_s", self.remote_timeout_s)
        if self.executor == "ray":
            self._check_choices()
            if not self.device_resource:
                raise HwnasError("executor=ray measures on the Ray node that holds the device: give "
                                 "device_resource=<its custom resource>, e.g. device_resource=device:jetson")
            if self.backend not in BACKENDS:
                raise unknown_choice("measurement backend", self.backend, BACKENDS)
            return replace(self, threads=int(self.threads), batch_size=int(self.batch_size),
                           device_resource=str(self.device_resource), remote_timeout_s=float(self.remote_timeout_s))
        return self.resolved_here()

    def resolved_here(self) -> "BackendSettings":
        """Validated for this machine, `backend` resolved to `cpu` or `cuda` (the runtime must be installed)."""
        self._check_choices()
        if self.runtime in EXPORTED:
            from hwnas.measure.export import require

            require(self.runtime)
            return replace(self, backend="cpu", threads=int(self.threads), batch_size=int(self.batch_size))
        return replace(self, backend=select_backend(self.backend), threads=int(self.threads),
                       batch_size=int(self.batch_size), channels_last=bool(self.channels_last))

    def _check_choices(self) -> None:
        if self.dtype not in DTYPES:
            raise unknown_choice("measurement dtype", self.dtype, DTYPES)
        if int(self.batch_size) < 1:
            raise HwnasError(f"measurement batch_size must be at least 1, got {self.batch_size}")
        if self.runtime not in RUNTIMES:
            raise unknown_choice("measurement runtime", self.runtime, RUNTIMES)
        if self.graph_optimization not in GRAPH_OPTIMIZATIONS:
            raise unknown_choice("graph_optimization", self.graph_optimization, GRAPH_OPTIMIZATIONS)
        if self.runtime in EXPORTED:
            if self.backend not in ("auto", "cpu"):
                where = "the CPU execution provider" if self.runtime == "onnxruntime" else "the CPU plugin"
                raise HwnasError(f"runtime={self.runtime} runs on {where}; backend={self.backend} "
                                 "is torch's device choice (use backend=cpu or auto)")
            if self.dtype != "float32" or self.channels_last:
                raise HwnasError(f"runtime={self.runtime} times the exported float32 model: dtype=float32 and "
                                 "channels_last=false required")

    def timing(self) -> MeasurementSettings:
        return MeasurementSettings(**{f.name: getattr(self, f.name) for f in fields(MeasurementSettings)})

    def device_settings(self) -> dict:
        """The settings that define a device in the store (they change latency)."""
        return {"backend": self.backend, "threads": int(self.threads), "batch_size": int(self.batch_size),
                "dtype": self.dtype, "channels_last": bool(self.channels_last), "clock": self.clock,
                **self.runtime_settings(),
                "device_resource": str(self.device_resource) if self.executor == "ray" else ""}

    def runtime_settings(self) -> dict:
        """Runtime, its version and its settings; torch's are empty (its version stays the `torch` column,
        so stores measured before runtimes existed keep matching)."""
        if self.runtime == "torch":
            return {"runtime": "torch", "runtime_version": "", "graph_optimization": ""}
        if self.runtime == "openvino":
            from hwnas.measure.openvino_runtime import version

            return {"runtime": "openvino", "runtime_version": version(), "graph_optimization": ""}
        from hwnas.measure.onnx_runtime import version

        return {"runtime": self.runtime, "runtime_version": version(), "graph_optimization": self.graph_optimization}

    def to_dict(self) -> dict:
        return asdict(self)


def this_host() -> str:
    """The name recorded with a measurement: the machine's host name and architecture."""
    return f"{socket.gethostname()} {platform.machine()}"


def machine_record(settings: "BackendSettings") -> dict:
    """What a stored row says about where it was measured: device settings, torch version, host (taken in
    the process that measures, so a remote row names the worker's host and versions)."""
    import torch

    return {**settings.device_settings(), "torch": torch.__version__, "host": this_host()}


def measure_exported(model, input_shape: tuple[int, ...], timing: MeasurementSettings, runtime: str,
                     graph_optimization: str = "all") -> tuple[float, float, float, int, bool]:
    """Export `model` and time it in an EXPORTED runtime: (median ms, IQR ms, fastest ms, repeats, stable)."""
    if runtime == "openvino":
        from hwnas.measure.openvino_runtime import measure_openvino

        return measure_openvino(model, input_shape, timing)
    from hwnas.measure.onnx_runtime import measure_onnxruntime

    return measure_onnxruntime(model, input_shape, timing, graph_optimization)


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
    machine: dict = field(default_factory=dict, compare=False, hash=False)   # machine_record where it ran

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def store_row(self, space: SearchSpace) -> dict:
        """The local store's row: the result plus the settings, versions and host of the machine that measured."""
        spread = self.spread_ms / self.latency_ms if self.ok and self.latency_ms > 0 else float("nan")
        return {"index": self.index, "arch": space.to_string(self.arch), "latency_ms": self.latency_ms,
                "spread_ms": self.spread_ms, "rel_spread": spread, "min_ms": self.min_ms, "repeats": self.repeats,
                "stable": self.stable, "status": self.status, "note": self.note, **self.machine,
                "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(self.seconds, 4)}


def cell_note(space: SearchSpace, arch: Arch) -> str:
    """The space's plain-words warning for an architecture that runs but is degenerate ("" when none)."""
    return space.arch_note(tuple(int(v) for v in arch))


def measure_arch(space: SearchSpace, arch: Arch, settings: BackendSettings, index: int | None = None) -> ArchMeasurement:
    """Build and time one architecture; any failure to build or run becomes an error record (`index`: its
    table row when the caller knows it, so a remote worker needs no table)."""
    import torch

    if settings.backend == "auto":
        settings = settings.resolved_here()
    start = time.perf_counter()
    machine = machine_record(settings)
    arch = tuple(int(v) for v in arch)
    index = _table_index(space, arch) if index is None else int(index)
    note = cell_note(space, arch)
    stage = "build"
    try:
        model = space.build(arch)
        shape = tuple(space.input_shape(arch, settings.batch_size))
        stage = "run"
        if settings.runtime in EXPORTED:
            result = measure_exported(model, shape, settings.timing(), settings.runtime, settings.graph_optimization)
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
                               time.perf_counter() - start, machine)
    finally:
        if settings.backend == "cuda":
            torch.cuda.empty_cache()
    median, spread, fastest, repeats, stable = result
    return ArchMeasurement(arch, index, float(median), float(spread), float(fastest), int(repeats), bool(stable),
                           "ok", note, time.perf_counter() - start, machine)


@dataclass
class MeasureRun:
    results: list[ArchMeasurement]
    interrupted: bool = False


class LocalMeter:
    """Measures in this process (the meter interface: `device_settings`, `measure`, `close`)."""

    def __init__(self, space: SearchSpace, settings: BackendSettings):
        self.space, self.settings = space, settings.resolved_here()

    def device_settings(self) -> dict:
        return self.settings.device_settings()

    def measure(self, arch: Arch) -> ArchMeasurement:
        return measure_arch(self.space, arch, self.settings)

    def close(self) -> None:
        pass


def open_meter(space: SearchSpace, settings: BackendSettings):
    """The meter for `settings.executor`: here, or (executor=ray) a worker pinned to the device's Ray node;
    connecting and finding the device happen now, so a wrong address or resource fails before any work."""
    settings = settings.resolved()
    if settings.executor == "ray":
        from hwnas.measure.remote_ray import RayMeter

        return RayMeter(space, settings)
    return LocalMeter(space, settings)


def measure_archs(space: SearchSpace, archs: Sequence[Arch], settings: BackendSettings,
                  on_each: Callable[[ArchMeasurement], None] | None = None, meter=None) -> MeasureRun:
    """Measure `archs` one by one (calling `on_each` after each, e.g. to store it) with `meter` (default: one
    opened for `settings` and closed after); Ctrl-C ends early and returns everything finished so far with
    `interrupted=True`."""
    own = meter is None
    meter = open_meter(space, settings) if own else meter
    run = MeasureRun([])
    try:
        for arch in archs:
            result = meter.measure(tuple(int(v) for v in arch))
            run.results.append(result)
            if on_each is not None:
                on_each(result)
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        if own:
            meter.close()
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
