"""The strategy interface: ask/tell, as Optuna's `study.ask()` / `study.tell()`.

Strategies never call an oracle or an evaluator; the search loop does, so cost is counted one way.
Constraint sign convention (Optuna's): `violation_ms = latency_ms - budget_ms`, feasible iff <= 0.

What each strategy sees of an infeasible architecture (the one rule table, see docs/strategies.md):
every strategy is told the same `Trial` (accuracy, latency_ms, violation_ms; accuracy is NaN when the
loop screened the architecture out as over budget before evaluating it); random ignores it,
evolution ranks by `constrained_key`, REINFORCE shapes its reward, Optuna samplers get the violation
through `trial.set_constraint`. The best architecture of a run is always chosen by `constrained_key`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

from hwnas.core.constraint import Constraint, is_feasible
from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch, SearchSpace

OBJECTIVES = ("constrained", "pareto")


@dataclass(frozen=True)
class Trial:
    """One evaluated proposal, as told back to the strategy."""

    arch: Arch
    accuracy: float
    latency_ms: float
    violation_ms: float

    @property
    def feasible(self) -> bool:
        return bool(is_feasible(self.violation_ms))

    @property
    def evaluated(self) -> bool:
        """False for a screened trial: the oracle put it over budget, so its accuracy (NaN) was never asked."""
        return not math.isnan(self.accuracy)


class Strategy(ABC):
    """Proposes architectures (`ask`) and learns from their results (`tell`).

    `tell` must accept any trials, also ones it did not ask for (a resumed run may hand it history).
    """

    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0):
        self.space = space
        self.constraint = Constraint(budget_ms)
        self.budget_ms = self.constraint.budget_ms
        self.seed = int(seed)

    @abstractmethod
    def ask(self, n: int = 1) -> list[Arch]:
        """Propose `n` architectures."""

    @abstractmethod
    def tell(self, trials: list[Trial]) -> None:
        """Receive results for the architectures of the last `ask`, in the same order."""

    def revise(self, trials: list[Trial]) -> None:
        """Replace what was told about these architectures (told before) by corrected latencies: the loop
        refitted its oracle on target measurements (`refine=true`). Nothing is added: a strategy keeps one
        entry per architecture. The default keeps nothing per trial (random search), so it has nothing to do.
        """

    def resume(self, history: list[Trial]) -> bool:
        """Restore the state reached after `history` (every trial told before a kill, in order).

        Return True when the strategy restored itself (from its own durable store, say); False (the
        default) asks the loop to replay: re-ask the seeded strategy from the start and answer its
        asks from the journal, which reproduces an uninterrupted run exactly.
        """
        return False

    def note(self, max_evals: int) -> str | None:
        """A warning on this configuration for the run summary (e.g. it degenerates); None by default."""
        return None

    def close(self) -> None:
        """Release durable resources (database connections); the default has none."""


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise HwnasError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
    return objective

