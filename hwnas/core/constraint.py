"""The latency constraint, defined once for the loop, every strategy, verify, results and report.

Sign convention (Optuna's): `violation_ms = latency_ms - budget_ms`; an architecture is feasible iff
`violation_ms <= 0`. A NaN latency (not measured) is never feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hwnas.core.errors import HwnasError

if TYPE_CHECKING:
    from hwnas.core.strategy import Trial


def is_feasible(violation_ms):
    """The feasibility rule on a violation (float or array): `violation_ms <= 0`."""
    return violation_ms <= 0.0


@dataclass(frozen=True)
class Constraint:
    """`latency_ms <= budget_ms` on the target device, with the violation as the graded measure."""

    budget_ms: float

    def __post_init__(self) -> None:
        try:
            budget = float(self.budget_ms)
        except (TypeError, ValueError):
            raise HwnasError(f"budget_ms must be a number of milliseconds, got {self.budget_ms!r}") from None
        if math.isnan(budget):
            raise HwnasError("budget_ms must be a number of milliseconds, got NaN")
        object.__setattr__(self, "budget_ms", budget)

    def violation_ms(self, latency_ms):
        """How far over budget (ms; negative: slack), for a float or an array."""
        if isinstance(latency_ms, (int, float)):
            return float(latency_ms) - self.budget_ms
        return np.asarray(latency_ms, dtype=float) - self.budget_ms

    def feasible(self, latency_ms):
        """Whether each latency meets the budget (bool, or a bool array for an array)."""
        result = is_feasible(self.violation_ms(latency_ms))
        return bool(result) if np.ndim(result) == 0 else result


def constrained_key(trial: "Trial") -> tuple:
    """Sort key, larger is better: feasible first, then accuracy; infeasible by smaller violation (Deb 2000)."""
    if is_feasible(trial.violation_ms):
        return (1, trial.accuracy, -trial.latency_ms)
    return (0, -trial.violation_ms, trial.accuracy if trial.evaluated else float("-inf"))
