"""Regularized (aging) evolution, Real et al. 2019, with feasibility-first tournament selection.

Tournament winners are chosen by `constrained_key`: feasible architectures beat infeasible ones,
feasible ones compete on accuracy, infeasible ones on smaller budget violation (Deb's rules).
With `skip_seen`, a child that was already proposed is mutated again (up to `max_retries` times):
in a small tabled space the loop would only answer it from its cache, wasting a generation.
A screened child (over budget by the oracle, never evaluated) is rejected: it does not enter the
population, so the population stays `population_size` evaluated architectures (OFA's constrained
evolution, Cai et al. 2020, also re-draws a child until it meets the constraint). With `repair` = k > 0,
up to k of the space's `equivalents` of a rejected child (the same network running other operations) are
asked next, one at a time, until one is evaluated (meets the budget): a good child is not lost to operations
that cannot change what it computes.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hwnas.core.errors import HwnasError, true_or_false, whole_number
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.constraint import constrained_key
from hwnas.core.strategy import Strategy, Trial


class RegularizedEvolution(Strategy):
    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0,
                 population_size: int = 50, tournament_size: int = 10, skip_seen: bool = False,
                 max_retries: int = 20, repair: int = 0):
        super().__init__(space, budget_ms, seed)
        population_size = whole_number("evolution", "population_size", population_size, 1)
        tournament_size = whole_number("evolution", "tournament_size", tournament_size, 1)
        if not 1 <= tournament_size <= population_size:
            raise HwnasError(f"evolution needs 1 <= tournament_size ({tournament_size}) <= "
                             f"population_size ({population_size})")
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.skip_seen = true_or_false("evolution", "skip_seen", skip_seen)
        self.max_retries = whole_number("evolution", "max_retries", max_retries, 0)
        if isinstance(repair, bool) or not isinstance(repair, (int, np.integer)) or repair < 0:
            raise HwnasError(f"evolution needs repair >= 0, a whole number of equivalents tried per rejected child; "
                             f"got {repair!r}")
        self.repair = int(repair)
        self._rng = np.random.default_rng(seed)
        self._population: deque[Trial] = deque()
        self._seen: set[Arch] = set()
        self._repairs: list[Arch] = []               # unasked equivalents of the last rejected child, asked last first
        self._repairing: frozenset[Arch] = frozenset()   # that child and all its equivalents

    def ask(self, n: int = 1) -> list[Arch]:
        out = []
        while len(out) < n and self._repairs:
            candidate = self._repairs.pop()
            if candidate not in self._seen:
                self._seen.add(candidate)
                out.append(candidate)
        for _ in range(n - len(out)):
            if len(self._population) < self.population_size:  # the initial random population (Real et al.)
                child = self.space.sample(self._rng, 1)[0]
            else:
                picks = self._rng.choice(len(self._population), size=min(self.tournament_size,
                                         len(self._population)), replace=False)
                parent = max((self._population[i] for i in picks), key=constrained_key)
                child = self.space.mutate(parent.arch, self._rng)
                for _ in range(self.max_retries if self.skip_seen else 0):
                    if child not in self._seen:
                        break
                    child = self.space.mutate(parent.arch if self._rng.random() < 0.5 else child, self._rng)
            self._seen.add(child)
            out.append(child)
        return out

    def tell(self, trials: list[Trial]) -> None:
        for trial in trials:
            self._seen.add(trial.arch)
            if self.repair:
                self._plan_repair(trial)
            if not trial.evaluated:  # screened over budget: a rejected child, as in OFA's constrained evolution
                continue
            self._population.append(trial)
            if len(self._population) > self.population_size:
                self._population.popleft()

    def _plan_repair(self, trial: Trial) -> None:
        """A rejected child (not one of the initial population) queues its unasked equivalents in seeded random
        order; an evaluated one of them ends the repair."""
        if trial.evaluated:
            if trial.arch in self._repairing:
                self._repairs, self._repairing = [], frozenset()
        elif trial.arch not in self._repairing and len(self._population) >= self.population_size:
            equivalents = self.space.equivalents(trial.arch)
            options = [a for a in equivalents if a not in self._seen]
            self._repairs = [options[i] for i in self._rng.permutation(len(options))][-self.repair:]
            self._repairing = frozenset([trial.arch, *equivalents])

    def revise(self, trials: list[Trial]) -> None:
        """Population members of a revised architecture take its corrected latency, in place (no new entry)."""
        corrected = {t.arch: t for t in trials}
        if corrected:
            self._population = deque(corrected.get(t.arch, t) for t in self._population)

    def note(self, max_evals: int) -> str | None:
        """Warn when the initial random population uses up `max_evals`: no mutation ever happens."""
        if self.population_size < max_evals:
            return None
        return (f"evolution's population_size ({self.population_size}) >= max_evals ({max_evals}): every "
                "architecture comes from the random initial population, so this run is random search")
