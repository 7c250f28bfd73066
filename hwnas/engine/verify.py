"""The verify step: measure the search's pick on the target; if it is over budget, the next candidates.

Candidates are a run's distinct architectures in the order the search ranks them (`constrained_key`
on the oracle's prediction: feasible by accuracy first, then smallest predicted violation). They are
measured one at a time until one meets the budget or `max_measurements` are spent; the first one
within budget is returned. A predictor's error can therefore cost measurements but never a violated
budget: what verification returns was measured within budget, or nothing is returned.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.core.constraint import Constraint, constrained_key
from hwnas.core.strategy import Trial

Measure = Callable[[list[Arch]], np.ndarray]  # archs -> measured latency (ms) on the target


@dataclass(frozen=True)
class Candidate:
    arch: str
    accuracy: float
    predicted_ms: float


@dataclass(frozen=True)
class VerifyStep:
    arch: str
    accuracy: float
    predicted_ms: float
    measured_ms: float
    within_budget: bool


@dataclass
class VerifyResult:
    budget_ms: float
    steps: list[VerifyStep] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def measurements(self) -> int:
        return len(self.steps)

    @property
    def chosen(self) -> VerifyStep | None:
        """The first candidate measured within budget (None when every measured one was over)."""
        return next((s for s in self.steps if s.within_budget), None)

    @property
    def first(self) -> VerifyStep | None:
        """The search's own pick, measured: what a run without verification returns."""
        return self.steps[0] if self.steps else None

    def to_dict(self) -> dict:
        chosen = self.chosen
        return {"budget_ms": self.budget_ms, "measurements": self.measurements, "seconds": self.seconds,
                "verified": chosen is not None, "chosen": asdict(chosen) if chosen else None,
                "steps": [asdict(s) for s in self.steps]}


def rank_candidates(records: Sequence[dict]) -> list[Candidate]:
    """A run's distinct architectures, best first by the search's own rule on predicted latency."""
    seen: dict[str, dict] = {}
    for record in records:
        if record.get("accuracy") is not None:  # screened records were never evaluated
            seen.setdefault(record["arch"], record)
    ordered = sorted(seen.values(), reverse=True, key=lambda r: constrained_key(
        Trial((), float(r["accuracy"]), float(r["latency_ms"]), float(r["violation_ms"]))))
    return [Candidate(r["arch"], float(r["accuracy"]), float(r["latency_ms"])) for r in ordered]


def verify(space: SearchSpace, candidates: Sequence[Candidate], budget_ms: float, measure: Measure,
           max_measurements: int = 5, ledger: CostLedger | None = None) -> VerifyResult:
    """Measure candidates in order until one is within `budget_ms` or `max_measurements` are spent."""
    if max_measurements < 1:
        raise HwnasError(f"verify needs max_measurements >= 1, got {max_measurements}")
    result = VerifyResult(float(budget_ms))
    start = time.perf_counter()
    for candidate in list(candidates)[:max_measurements]:
        measured = float(np.asarray(measure([space.from_string(candidate.arch)]), dtype=float)[0])
        ok = bool(np.isfinite(measured) and Constraint(budget_ms).feasible(measured))
        result.steps.append(VerifyStep(candidate.arch, candidate.accuracy, candidate.predicted_ms, measured, ok))
        if ok:
            break
    result.seconds = time.perf_counter() - start
    if ledger is not None:
        ledger.add_measurements("verify", result.measurements)
        ledger.wall_seconds["verify"] += result.seconds
    return result


def table_measure(space: SearchSpace, latency_ms: np.ndarray) -> Measure:
    """Measurements of a tabled device: its table (a missing entry is a clear error, not a NaN)."""
    def measure(archs: list[Arch]) -> np.ndarray:
        values = devices.table_lookup_ms(space, latency_ms, as_matrix(archs))
        if np.isnan(values).any():
            bad = space.to_string(archs[int(np.flatnonzero(np.isnan(values))[0])])
            raise HwnasError(f"the device table has no measurement of {bad}; verify on a device that covers it")
        return values

    return measure
