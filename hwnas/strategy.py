"""The strategy interface: ask/tell, as Optuna's `study.ask()` / `study.tell()`.

Strategies never call an oracle or an evaluator; the search loop does, so cost is counted one way.
Constraint sign convention (Optuna's): `violation_ms = latency_ms - budget_ms`, feasible iff <= 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from hwnas.space import Arch, SearchSpace


@dataclass(frozen=True)
class Trial:
    """One evaluated proposal, as told back to the strategy."""

    arch: Arch
    accuracy: float
    latency_ms: float
    violation_ms: float

    @property
    def feasible(self) -> bool:
        return self.violation_ms <= 0.0


class Strategy(ABC):
    """Proposes architectures (`ask`) and learns from their results (`tell`)."""

    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0):
        self.space = space
        self.budget_ms = float(budget_ms)
        self.seed = int(seed)

    @abstractmethod
    def ask(self, n: int = 1) -> list[Arch]:
        """Propose `n` architectures."""

    @abstractmethod
    def tell(self, trials: list[Trial]) -> None:
        """Receive results for the architectures of the last `ask`, in the same order."""


def constrained_key(trial: Trial) -> tuple:
    """Sort key, larger is better: feasible first, then accuracy; infeasible by smaller violation."""
    if trial.feasible:
        return (1, trial.accuracy, -trial.latency_ms)
    return (0, -trial.violation_ms, trial.accuracy)
