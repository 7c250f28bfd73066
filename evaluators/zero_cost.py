"""SynFlow, a data-free zero-cost proxy (Tanaka et al., 2020; used for NAS by Abdelfattah et al., 2021).

For a freshly initialised network with every parameter replaced by its absolute value, in eval mode
(float32, float64 where float32 overflows), R = sum of the outputs for an all-ones input; the score is sum over parameters of
|theta * dR/dtheta|. It needs no data and no training, so it is a PROXY, not an accuracy: it is
reported as log10(score) and labelled as such everywhere (`is_proxy = True`). Scores are cached on
disk per space and seed, saved as they are computed (an interrupted scoring keeps what it finished), so a
table of thousands of architectures is computed once; scores of a space's tabled architectures may ship
with the package (`synflow_shipped/`), checked against this torch before they are used.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError, whole_number
from hwnas.data.cache import atomic_write_json
from hwnas.data.cache import cache_dir as default_cache_dir
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import Arch, SearchSpace

_SAVE_EVERY_S = 20.0  # while scoring many networks, save the cache at least this often
_PROGRESS_FROM = 50   # say on stderr how far a call is when it scores at least this many networks
SHIPPED_DIR = Path(__file__).with_name("synflow_shipped")


def synflow_score(build, input_shape: tuple[int, ...]) -> float:
    """SynFlow score of the network `build()` returns (called again in float64 if float32 overflows)."""
    import torch

    for dtype in (torch.float32, torch.float64):
        module = build().to(dtype).eval()
        with torch.no_grad():
            for p in module.parameters():
                p.abs_()
        with torch.enable_grad():
            module(torch.ones(input_shape, dtype=dtype)).sum().backward()
        with torch.no_grad():
            score = sum(float((p * p.grad).abs().sum(dtype=torch.float64)) for p in module.parameters()
                        if p.grad is not None)
        if math.isfinite(score):
            return score
    return score


class SynFlowProxy(Evaluator):
    """log10 SynFlow score of the built network (batch-1 all-ones input, fixed init seed)."""

    is_proxy = True

    def __init__(self, space: SearchSpace, seed: int = 0, threads: int = 1, cache_dir: str | None = None):
        super().__init__(space)
        self.seed = whole_number("evaluator synflow", "seed", seed, 0)
        self.threads = whole_number("evaluator synflow", "threads", threads, 1)
        self.metric = (f"SynFlow zero-cost PROXY, log10 score (Tanaka et al. 2020), NOT an accuracy; "
                       f"{space.name} network at init, seed {self.seed}")
        folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        key = json.dumps({"space": space.name, "num_classes": getattr(space, "num_classes", None),
                          "seed": self.seed}, sort_keys=True)
        name = f"synflow_{space.name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
        self.cache_file = folder / name
        self._scores: dict[str, float] = self._load()
        self._shipped_file = SHIPPED_DIR / f"{name}.gz"
        self._shipped: dict[str, float] | None = None  # read on first need, then checked against this torch

    def _load(self) -> dict[str, float]:
        if not self.cache_file.is_file():
            return {}
        return _read_scores(self.cache_file, self.cache_file.read_bytes, "SynFlow cache", "delete it to recompute")

    def save(self) -> None:
        """Write the scores merged with what other processes saved meanwhile (atomic; a score a concurrent
        writer saved between our read and write is dropped and computed again when needed, never torn)."""
        self._scores = {**self._load(), **self._scores}
        atomic_write_json(self.cache_file, self._scores)

    def _shipped_scores(self) -> dict[str, float]:
        """Scores shipped with the package for this space and seed, if they match this torch (checked on one)."""
        if self._shipped is None:
            self._shipped = {}
            if self._shipped_file.is_file():
                shipped = _read_scores(self._shipped_file, lambda: gzip.decompress(self._shipped_file.read_bytes()),
                                       "shipped SynFlow scores", "reinstall hwnas")
                probe = min(shipped)
                here = self.score(self.space.from_string(probe))
                if math.isclose(here, shipped[probe], rel_tol=1e-9, abs_tol=1e-12):
                    self._shipped = shipped
                else:
                    print(f"hwnas: the shipped SynFlow scores do not match this torch's initialisation "
                          f"({shipped[probe]:.9g} vs {here:.9g}); computing them here", file=sys.stderr)
        return self._shipped

    def score(self, arch: Arch) -> float:
        """log10 SynFlow of one architecture (computed, not cached)."""
        import torch

        from hwnas.measure.timing import torch_threads

        with torch_threads(self.threads):
            def build():
                torch.manual_seed(self.seed)
                return self.space.build(arch)

            try:
                raw = synflow_score(build, self.space.input_shape(arch))
            except NotImplementedError:
                raise HwnasError(f"the SynFlow proxy needs a space that builds networks; {self.space.name} "
                                 "does not") from None
        return math.log10(raw) if raw > 0 else float("-inf")

    def accuracy(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        keys = [self.space.to_string(tuple(int(v) for v in a)) for a in self.space.checked_matrix(archs)]
        missing = [k for k in dict.fromkeys(keys) if k not in self._scores]
        if missing:
            shipped = self._shipped_scores()
            self._scores.update({k: shipped[k] for k in missing if k in shipped})
            missing = [k for k in missing if k not in self._scores]
        if missing:
            self._compute(missing)
        return np.array([self._scores[k] for k in keys], dtype=float)

    def _compute(self, missing: list[str]) -> None:
        """Score each network (no batched form exists), saving every few seconds and on interruption."""
        start = last_save = last_note = time.perf_counter()
        report = len(missing) >= _PROGRESS_FROM
        try:
            for done, k in enumerate(missing, 1):
                self._scores[k] = self.score(self.space.from_string(k))
                now = time.perf_counter()
                if now - last_save >= _SAVE_EVERY_S:
                    self.save()
                    last_save = now
                if report and (now - last_note >= 30.0 or done == len(missing)):
                    left_s = (now - start) / done * (len(missing) - done)
                    print(f"hwnas: SynFlow scores {done}/{len(missing)} ({self.space.name}), about {left_s:.0f} s "
                          f"left; cached in {self.cache_file}", file=sys.stderr)
                    last_note = now
        finally:
            if any(k in self._scores for k in missing):
                self.save()


def _read_scores(path: Path, read, what: str, fix: str) -> dict[str, float]:
    """An arch -> score object from `read()`; anything else is a one-line error naming the file."""
    try:
        scores = json.loads(read())
        if not isinstance(scores, dict) or not all(isinstance(v, (int, float)) for v in scores.values()):
            raise ValueError("expected an object of arch -> number")
        return scores
    except (OSError, ValueError, EOFError) as exc:
        raise HwnasError(f"corrupt {what} {path}: {exc}; {fix}") from None
