"""Random search: uniform samples from the space, the baseline every strategy must beat."""

from __future__ import annotations

import numpy as np

from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy, Trial, check_objective


class RandomSearch(Strategy):
    """Ignores what it is told, so it serves both objectives (a Pareto front comes from its samples)."""

    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0, objective: str = "constrained"):
        super().__init__(space, budget_ms, seed)
        self.objective = check_objective(objective)
        self._rng = np.random.default_rng(seed)

    def ask(self, n: int = 1) -> list[Arch]:
        return self.space.sample(self._rng, n)

    def tell(self, trials: list[Trial]) -> None:
        pass
