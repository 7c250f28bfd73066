"""The latency constraint, defined once for the loop, every strategy, verify, results and report.

Sign convention (Optuna's): `violation_ms = latency_ms - budget_ms`; an architecture is feasible iff
`violation_ms <= 0`. A NaN latency (not measured) is never feasible. With `confidence` q != 0.5 it is a
chance constraint: feasible iff P(latency <= budget) >= q under a normal predictive distribution
(mean, std), i.e. the violation is `mean + z_q * std - budget_ms`; q = 0.5 is the plain rule. q < 0.5 is
optimistic (z < 0): the session allows it only while refining, where the pick is measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
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
    confidence: float = 0.5

    def __post_init__(self) -> None:
        try:
            budget = float(self.budget_ms)
        except (TypeError, ValueError):
            raise HwnasError(f"budget_ms must be a number of milliseconds, got {self.budget_ms!r}") from None
        if math.isnan(budget):
            raise HwnasError("budget_ms must be a number of milliseconds, got NaN")
        object.__setattr__(self, "budget_ms", budget)
        if not 0.0 < float(self.confidence) < 1.0:
            raise HwnasError(f"constraint_confidence must be in (0, 1), got {self.confidence!r}")
        object.__setattr__(self, "confidence", float(self.confidence))

    @property
    def z(self) -> float:
        """Standard deviations of margin the chance constraint keeps (0 for the plain rule)."""
        return 0.0 if self.confidence == 0.5 else NormalDist().inv_cdf(self.confidence)

    @property
    def uses_uncertainty(self) -> bool:
        """Whether feasibility needs the oracle's predictive standard deviation."""
        return self.z != 0.0

    def violation_ms(self, latency_ms, std_ms=None):
        """How far over budget (ms; negative: slack), for a float or an array; `std_ms` (the prediction's
        standard deviation) adds the chance constraint's margin `z * std_ms`."""
        if isinstance(latency_ms, (int, float)) and not isinstance(std_ms, np.ndarray):
            base = float(latency_ms) - self.budget_ms
            return base + self.z * float(std_ms) if std_ms is not None and self.uses_uncertainty else base
        base = np.asarray(latency_ms, dtype=float) - self.budget_ms
        return base + self.z * np.asarray(std_ms, dtype=float) if std_ms is not None and self.uses_uncertainty else base

    def feasible(self, latency_ms, std_ms=None):
        """Whether each latency meets the budget (bool, or a bool array for an array)."""
        result = is_feasible(self.violation_ms(latency_ms, std_ms))
        return bool(result) if np.ndim(result) == 0 else result


def constrained_key(trial: "Trial") -> tuple:
    """Sort key, larger is better: feasible first, then accuracy; infeasible by smaller violation (Deb 2000)."""
    if is_feasible(trial.violation_ms):
        return (1, trial.accuracy, -trial.latency_ms)
    return (0, -trial.violation_ms, trial.accuracy if trial.evaluated else float("-inf"))
