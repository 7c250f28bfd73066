"""Detecting a predictor that answers one architecture per call instead of one batched query: counters
(calls to the space's batched methods, torch module forwards, lines of the oracle's own code) must not
grow by about one per arch from a one-arch query to a batch. Counts do not depend on load, so never flaky."""

from __future__ import annotations

import inspect
import os
import sys
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import numpy as np

from hwnas.core.space import SearchSpace

#: a counter that grows by at least this fraction of n for n more archs marks a per-arch loop
PER_ARCH_FRACTION = 0.5


def batched_methods(space: SearchSpace) -> list[str]:
    """Names of the space's methods that take a batch of archs (first parameter `archs`)."""
    names = []
    for name in dir(type(space)):
        if name.startswith("__"):
            continue
        member = inspect.getattr_static(type(space), name)
        if inspect.isfunction(member) and list(inspect.signature(member).parameters)[1:2] == ["archs"]:
            names.append(name)
    return names


def own_source_files(obj: object) -> set[str]:
    """Source files of the classes of `obj` (its class and bases), leaving out hwnas.core and builtins."""
    files = set()
    for cls in type(obj).__mro__:
        if cls.__module__ in ("builtins", "abc") or cls.__module__.startswith("hwnas.core"):
            continue
        try:
            path = inspect.getsourcefile(cls)
        except TypeError:
            continue
        if path:
            files.add(os.path.realpath(path))
    return files


@contextmanager
def _space_calls(space: SearchSpace, counts: Counter) -> Iterator[None]:
    missing, saved = object(), {}
    for name in batched_methods(space):
        saved[name] = space.__dict__.get(name, missing)
        original = getattr(space, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            counts[f"space.{_name}"] += 1
            return _original(*args, **kwargs)

        setattr(space, name, counted)  # an instance attribute shadows the method for every holder of `space`
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                delattr(space, name)
            else:
                setattr(space, name, value)


@contextmanager
def _torch_calls(counts: Counter) -> Iterator[None]:
    torch = sys.modules.get("torch")  # a torch model can only run if torch is imported already
    if torch is None:
        yield
        return

    def hook(module, args):
        counts[f"torch module {type(module).__name__} (id {id(module)})"] += 1

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def _lines_run(files: Iterable[str], counts: Counter) -> Iterator[None]:
    files = set(files)
    names = {f: os.path.basename(f) for f in files}
    real: dict[str, str | None] = {}

    def local(frame, event, arg):
        if event == "line":
            counts[f"lines of {names[real[frame.f_code.co_filename]]}"] += 1
        return local

    def tracer(frame, event, arg):
        path = frame.f_code.co_filename
        if path not in real:
            resolved = os.path.realpath(path)
            real[path] = resolved if resolved in files else None
        return local if real[path] is not None else None

    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(before)


@contextmanager
def counting_calls(space: SearchSpace, files: Iterable[str] = ()) -> Iterator[Counter]:
    """Count calls to the space's batched methods, torch module forwards and lines run in `files`."""
    counts: Counter = Counter()
    with _space_calls(space, counts), _torch_calls(counts), _lines_run(files, counts):
        yield counts


def per_arch_counts(predict: Callable[[np.ndarray], object], space: SearchSpace, archs: np.ndarray,
                    files: Iterable[str] = ()) -> dict[str, tuple[int, int]]:
    """Counters that grow with the batch: name -> (count for the batch `archs[2:]`, for `archs[1:2]`)."""
    files = list(files)
    predict(archs[:1])  # lazy set-up (imports, first-call caches) is counted in neither
    with counting_calls(space, files) as one:
        predict(archs[1:2])
    with counting_calls(space, files) as many:
        predict(archs[2:])
    floor = max(2, int(PER_ARCH_FRACTION * (len(archs) - 3)))
    return {name: (n, one[name]) for name, n in many.items() if n - one[name] >= floor}


def per_arch_evidence(predict: Callable[[np.ndarray], object], space: SearchSpace, archs: np.ndarray,
                      files: Iterable[str] = ()) -> str | None:
    """Why `predict` looks like one query per arch (None: batched); `archs`: 64 or more distinct archs,
    `files`: the oracle's own source files (`own_source_files`)."""
    grown = per_arch_counts(predict, space, np.asarray(archs), files)
    if not grown:
        return None
    named = ", ".join(f"{name} {n}x (one arch: {m}x)" for name, (n, m) in sorted(grown.items()))
    return (f"answering {len(archs) - 2} archs ran {named}: one call per architecture instead of one "
            "batched query")
