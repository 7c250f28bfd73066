"""CPU latency of a torch module: warm-up, then repeats until the median is stable or a time cap.

The protocol follows common practice for on-device latency tables (HW-NAS-Bench, Li et al. 2021;
nn-Meter, Zhang et al. 2021): fixed thread count, warm-up runs discarded, the median of repeated
timed runs reported with its spread, under ``torch.inference_mode`` in eval mode. Every result
carries the settings it was taken with, so tables built on different settings are never mixed.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from hwnas.core.errors import HwnasError

if TYPE_CHECKING:  # pragma: no cover
    import torch


CLOCKS = ("auto", "wall", "thread_cpu")   # auto: thread_cpu with one thread (steady on a shared CPU), else wall


@dataclass(frozen=True)
class MeasurementSettings:
    """How a latency is measured. The median counts as stable once adding `check_every` more runs
    moves it by less than `rel_tolerance` (relative); `time_cap_s` bounds one measurement."""

    threads: int = 1
    warmup: int = 3
    min_repeats: int = 10
    max_repeats: int = 200
    check_every: int = 5
    rel_tolerance: float = 0.02
    time_cap_s: float = 2.0
    clock: str = "auto"          # "wall" (latency) or "thread_cpu" (CPU time of this thread: robust to
                                 # other processes sharing the cores; equals latency only with threads=1)

    def __post_init__(self):
        if self.clock == "auto":
            object.__setattr__(self, "clock", auto_clock(int(self.threads)))
        for name in ("threads", "min_repeats", "max_repeats", "check_every"):
            if int(getattr(self, name)) < 1:
                raise HwnasError(f"measurement setting {name} must be at least 1, got {getattr(self, name)}")
        if self.warmup < 0 or self.rel_tolerance <= 0 or self.time_cap_s <= 0:
            raise HwnasError("measurement settings: warmup >= 0, rel_tolerance > 0 and time_cap_s > 0 required")
        if self.clock not in CLOCKS:
            raise HwnasError(f"measurement setting clock={self.clock!r} unknown; valid: {', '.join(CLOCKS)}")
        if self.clock == "thread_cpu" and int(self.threads) != 1:
            raise HwnasError(f"clock=thread_cpu times only the calling thread, so it needs threads=1 (got "
                             f"{self.threads}); use clock=wall with several threads")
        if self.max_repeats < self.min_repeats:
            raise HwnasError(f"measurement settings: max_repeats ({self.max_repeats}) < min_repeats "
                             f"({self.min_repeats})")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measurement:
    """Median latency (ms) of one forward pass, its spread and how it was obtained."""

    median_ms: float
    iqr_ms: float                 # interquartile range of the timed runs
    min_ms: float
    repeats: int
    stable: bool                  # False when max_repeats or the time cap ended it first
    seconds: float                # wall time spent measuring, warm-up included
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def auto_clock(threads: int) -> str:
    """`clock=auto`: the thread-CPU clock with one thread (other processes' load barely moves it: Spearman
    0.942 against 0.597 for the wall clock between two passes at load 3.4-4.6, docs/measurement.md), else wall."""
    return "thread_cpu" if int(threads) == 1 else "wall"


def host_signature(settings: MeasurementSettings) -> dict:
    """What a measured number depends on besides the model: machine, software, threads."""
    import torch

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "threads": settings.threads}


def set_compute_threads(threads: int) -> None:
    """Every torch computation of this process (GP fits, HELP training) runs on `threads` intra-op threads:
    torch's default (one per core) oversubscribes a CPU that other processes share, which made a GP run
    and HELP's meta-training several times slower under load. Set before torch is imported, or after."""
    import sys

    threads = int(threads)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)  # read when torch loads
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


# Torch threads for training a learned predictor (NASFLAT, HELP): float sums differ with the thread count and, over
# many steps, so do the trained weights, so one fixed count gives one model per seed whatever the caller's setting.
TRAINING_THREADS = 1


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run with `threads` intra-op threads, restoring the previous setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def measure_latency_ms(module: "torch.nn.Module", input_shape: tuple[int, ...],
                       settings: MeasurementSettings | None = None) -> Measurement:
    """Latency of ``module`` on a random CPU float32 input of ``input_shape`` (batch included)."""
    import torch

    settings = settings or MeasurementSettings()
    was_training = module.training
    module.eval()
    start = time.perf_counter()
    samples_ms: list[float] = []
    stable = False
    clock = time.perf_counter if settings.clock == "wall" else time.thread_time
    try:
        with torch_threads(settings.threads), torch.inference_mode():
            x = torch.randn(tuple(int(d) for d in input_shape))
            for _ in range(settings.warmup):
                module(x)
            previous = None
            while len(samples_ms) < settings.max_repeats:
                t0 = clock()
                module(x)
                samples_ms.append((clock() - t0) * 1e3)
                n = len(samples_ms)
                if n >= settings.min_repeats and (n - settings.min_repeats) % settings.check_every == 0:
                    median = float(np.median(samples_ms))
                    if previous is not None and abs(median - previous) <= settings.rel_tolerance * median:
                        stable = True
                        break
                    previous = median
                if time.perf_counter() - start >= settings.time_cap_s and n >= 3:
                    break
    finally:
        module.train(was_training)
    times = np.asarray(samples_ms)
    q25, q50, q75 = np.percentile(times, [25, 50, 75])
    return Measurement(float(q50), float(q75 - q25), float(times.min()), len(times), stable,
                       time.perf_counter() - start, settings.to_dict())


def repeat_until_stable(once: Callable[[], float], timing: MeasurementSettings) -> tuple[np.ndarray, bool]:
    """The stopping rule for any runtime: warm-up, then timed runs (`once` returns ms) until the median
    moves by <= rel_tolerance between checks, or the time cap; returns the samples and whether stable."""
    start = time.perf_counter()
    for _ in range(timing.warmup):
        once()
    samples: list[float] = []
    previous = None
    while len(samples) < timing.max_repeats:
        samples.append(once())
        n = len(samples)
        if n >= timing.min_repeats and (n - timing.min_repeats) % timing.check_every == 0:
            median = float(np.median(samples))
            if previous is not None and abs(median - previous) <= timing.rel_tolerance * median:
                return np.asarray(samples), True
            previous = median
        if time.perf_counter() - start >= timing.time_cap_s and n >= 3:
            break
    return np.asarray(samples), False
