"""Detecting a predictor that answers one architecture per call instead of one batched query.

Two independent signals. Calls: while the oracle answers a batch of n archs, no batched method of the
space (one whose first parameter is `archs`) and no torch module may run about once per arch; counts
are exact, so this signal is never flaky. Cost: the marginal CPU time of one more arch in a batch
must be a small fraction of a whole call for one arch (a per-arch loop makes it about the same); it
catches a loop that touches neither the space nor torch. Timing uses this thread's CPU clock (time
lost to other processes on a loaded machine does not count), the fastest of several repeats on fresh
archs, and a ratio threshold far from both behaviours; a positive is re-measured before it fails.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from hwnas.core.space import SearchSpace
from hwnas.testing._support import torch_threads

#: a counted callable run at least this fraction of n times for a batch of n archs is a per-arch loop
PER_ARCH_CALL_FRACTION = 0.5
#: fail when one more arch in a batch costs more than this fraction of a one-arch call (per-arch loops: ~1)
MARGINAL_COST_LIMIT = 0.5


def batched_methods(space: SearchSpace) -> list[str]:
    """Names of the space's methods that take a batch of archs (first parameter `archs`)."""
    names = []
    for name in dir(type(space)):
        if name.startswith("__"):
            continue
        member = inspect.getattr_static(type(space), name)
        if not inspect.isfunction(member):
            continue
        params = list(inspect.signature(member).parameters)
        if len(params) >= 2 and params[1] == "archs":
            names.append(name)
    return names


@contextmanager
def counting_calls(space: SearchSpace) -> Iterator[Counter]:
    """Count calls to the space's batched methods and to every torch module (when torch is loaded)."""
    counts: Counter = Counter()
    missing = object()
    saved = {}
    for name in batched_methods(space):
        saved[name] = space.__dict__.get(name, missing)
        original = getattr(space, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            counts[f"space.{_name}"] += 1
            return _original(*args, **kwargs)

        setattr(space, name, counted)  # an instance attribute shadows the method for every holder of `space`
    handle = None
    torch = sys.modules.get("torch")
    if torch is not None:
        def hook(module, args):
            counts[f"torch module {type(module).__name__} (id {id(module)})"] += 1

        handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield counts
    finally:
        if handle is not None:
            handle.remove()
        for name, value in saved.items():
            if value is missing:
                delattr(space, name)
            else:
                setattr(space, name, value)


def per_arch_calls(predict: Callable[[np.ndarray], object], space: SearchSpace, archs: np.ndarray) -> dict:
    """The counted callables that ran about once per arch while `predict(archs)` answered the batch."""
    with counting_calls(space) as counts:
        predict(archs)
    floor = max(2, int(PER_ARCH_CALL_FRACTION * len(archs)))
    return {name: n for name, n in counts.items() if n >= floor}


def _cpu_seconds(call: Callable[[], object]) -> float:
    start = time.thread_time()
    call()
    return time.thread_time() - start


def marginal_cost_ratio(predict: Callable[[np.ndarray], object], singles: np.ndarray,
                        batches: list[np.ndarray]) -> float:
    """(CPU time of one more arch in a batch) / (CPU time of a call for one arch), fastest of repeats
    taken in turns (a batch, then a few single archs), so that a drift of the machine hits both."""
    per_batch = max(1, len(singles) // len(batches))
    one = whole = float("inf")
    with torch_threads(1):  # CPU time of this thread only: keep torch's work on it
        predict(singles[:1])
        for k, batch in enumerate(batches):
            whole = min(whole, _cpu_seconds(lambda: predict(batch)))
            for i in range(k * per_batch, (k + 1) * per_batch):
                one = min(one, _cpu_seconds(lambda: predict(singles[i:i + 1])))
    n = len(batches[0])
    return max(whole - one, 0.0) / max(n - 1, 1) / max(one, 1e-7)


def per_arch_evidence(predict: Callable[[np.ndarray], object], space: SearchSpace, archs: np.ndarray,
                      rounds: int = 3) -> str | None:
    """Why `predict` looks like one query per arch (None: batched). `archs`: distinct, at least 64."""
    n = max(8, (len(archs) - 16) // 4)
    calls = per_arch_calls(predict, space, archs[16:16 + n])
    if calls:
        named = ", ".join(f"{name} {count}x" for name, count in sorted(calls.items()))
        return f"answering {n} archs ran {named}: one call per architecture instead of one batched query"
    batches = [archs[16 + k * n:16 + (k + 1) * n] for k in range(1, 4)]
    ratio = 0.0
    for _ in range(rounds):  # a positive must hold in every round: a load spike cannot fail the check
        ratio = marginal_cost_ratio(predict, archs[:16], batches)
        if ratio <= MARGINAL_COST_LIMIT:
            return None
    return (f"one more arch in a batch of {n} costs {ratio:.2f}x a whole call for one arch (limit "
            f"{MARGINAL_COST_LIMIT}): the batch is answered one architecture at a time")
