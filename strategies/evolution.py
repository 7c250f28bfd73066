"""Regularized (aging) evolution, Real et al. 2019, with feasibility-first tournament selection.

Tournament winners are chosen by `constrained_key`: feasible architectures beat infeasible ones,
feasible ones compete on accuracy, infeasible ones on smaller budget violation (Deb's rules).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hwnas.errors import HwnasError
from hwnas.space import Arch, SearchSpace
from hwnas.strategy import Strategy, Trial, constrained_key


class RegularizedEvolution(Strategy):
    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0,
                 population_size: int = 50, tournament_size: int = 10):
        super().__init__(space, budget_ms, seed)
        if not 1 <= tournament_size <= population_size:
            raise HwnasError(f"evolution needs 1 <= tournament_size ({tournament_size}) <= "
                             f"population_size ({population_size})")
        self.population_size = population_size
        self.tournament_size = tournament_size
        self._rng = np.random.default_rng(seed)
        self._population: deque[Trial] = deque()
        self._asked = 0

    def ask(self, n: int = 1) -> list[Arch]:
        out = []
        for _ in range(n):
            if self._asked < self.population_size or not self._population:
                out.append(self.space.sample(self._rng, 1)[0])
            else:
                picks = self._rng.choice(len(self._population), size=min(self.tournament_size,
                                         len(self._population)), replace=False)
                parent = max((self._population[i] for i in picks), key=constrained_key)
                out.append(self.space.mutate(parent.arch, self._rng))
            self._asked += 1
        return out

    def tell(self, trials: list[Trial]) -> None:
        for trial in trials:
            self._population.append(trial)
            if len(self._population) > self.population_size:
                self._population.popleft()
