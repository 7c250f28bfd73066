"""Random search: uniform samples from the space, the baseline every strategy must beat."""

from __future__ import annotations

import numpy as np

from hwnas.space import Arch, SearchSpace
from hwnas.strategy import Strategy, Trial


class RandomSearch(Strategy):
    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0):
        super().__init__(space, budget_ms, seed)
        self._rng = np.random.default_rng(seed)

    def ask(self, n: int = 1) -> list[Arch]:
        return self.space.sample(self._rng, n)

    def tell(self, trials: list[Trial]) -> None:
        pass
