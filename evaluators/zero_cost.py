"""SynFlow, a data-free zero-cost proxy (Tanaka et al., 2020; used for NAS by Abdelfattah et al., 2021).

For a freshly initialised network with every parameter replaced by its absolute value, in eval mode
(float32, float64 where float32 overflows), R = sum of the outputs for an all-ones input; the score is sum over parameters of
|theta * dR/dtheta|. It needs no data and no training, so it is a PROXY, not an accuracy: it is
reported as log10(score) and labelled as such everywhere (`is_proxy = True`). Scores are cached on
disk per space and seed, so a table of thousands of architectures is computed once.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.data.cache import atomic_write_json
from hwnas.data.cache import cache_dir as default_cache_dir
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import Arch, SearchSpace

_SAVE_AFTER = 100  # save the cache after a call that computed at least this many new scores


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
        self.seed, self.threads = int(seed), int(threads)
        self.metric = (f"SynFlow zero-cost PROXY, log10 score (Tanaka et al. 2020), NOT an accuracy; "
                       f"{space.name} network at init, seed {self.seed}")
        folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        key = json.dumps({"space": space.name, "num_classes": getattr(space, "num_classes", None),
                          "seed": self.seed}, sort_keys=True)
        self.cache_file = folder / f"synflow_{space.name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
        self._scores: dict[str, float] = self._load()

    def _load(self) -> dict[str, float]:
        if not self.cache_file.is_file():
            return {}
        try:
            scores = json.loads(self.cache_file.read_text())
            if not isinstance(scores, dict) or not all(isinstance(v, (int, float)) for v in scores.values()):
                raise ValueError("expected an object of arch -> number")
            return scores
        except (OSError, ValueError) as exc:
            raise HwnasError(f"corrupt SynFlow cache {self.cache_file}: {exc}; delete it to recompute") from None

    def save(self) -> None:
        atomic_write_json(self.cache_file, self._scores)

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
        for k in missing:  # one network per architecture: there is no batched form of this proxy
            self._scores[k] = self.score(self.space.from_string(k))
        if len(missing) >= _SAVE_AFTER:
            self.save()
        return np.array([self._scores[k] for k in keys], dtype=float)
