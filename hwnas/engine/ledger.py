"""The cost ledger: what a run spent, by kind and by phase (see the README's cost model)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch

PHASES = ("setup", "adapt", "search", "refine", "verify")


@dataclass
class CostLedger:
    """Counters for one search run; every result row carries a snapshot.

    `evaluations` are distinct architectures evaluated; `trials` count every ask, repeats included;
    `screened` are distinct architectures the oracle put over budget, so never evaluated for accuracy.
    Target-device measurements are split by phase; `measurement_seconds` is measured time, or the
    configured seconds per measurement where the device is only a table here.
    """

    seconds_per_measurement: float = 1.0     # the cost model for a tabled device: conf/search.yaml's default
    trials: int = 0
    evaluations: int = 0
    screened: int = 0
    oracle_calls: int = 0
    oracle_queries: int = 0
    accuracy_queries: int = 0
    target_measurements: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    measurement_seconds: float = 0.0
    refits: int = 0                          # oracle refits on target measurements during the search (refine)
    refit_queries: int = 0                   # architectures re-predicted by those refits
    refit_seconds: float = 0.0               # adapt + batched re-prediction, measuring excluded (wall)
    refit_cpu_seconds: float = 0.0           # the same, CPU time of this process (steady on a busy machine)
    shared_setup: SetupCost = field(default_factory=SetupCost)
    wall_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a block of work under one phase."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.wall_seconds[name] += time.perf_counter() - start

    def add_measurements(self, phase: str, count: int, seconds: float | None = None) -> None:
        self.target_measurements[phase] += int(count)
        self.measurement_seconds += seconds if seconds is not None else count * self.seconds_per_measurement

    def add_setup(self, cost: SetupCost) -> None:
        """An oracle's setup: its target measurements count here, the shared part is kept apart."""
        if cost.target_measurements:
            self.add_measurements("setup", cost.target_measurements)
        self.wall_seconds["setup"] += cost.seconds
        self.shared_setup = SetupCost(
            shared_measurements=self.shared_setup.shared_measurements + cost.shared_measurements,
            shared_seconds=self.shared_setup.shared_seconds + cost.shared_seconds,
        )

    @property
    def total_target_measurements(self) -> int:
        return sum(self.target_measurements.values())

    def to_dict(self) -> dict:
        return {
            "trials": self.trials,
            "evaluations": self.evaluations,
            "screened": self.screened,
            "oracle_calls": self.oracle_calls,
            "oracle_queries": self.oracle_queries,
            "accuracy_queries": self.accuracy_queries,
            "target_measurements": dict(self.target_measurements),
            "target_measurements_total": self.total_target_measurements,
            "measurement_seconds": self.measurement_seconds,
            "refits": self.refits,
            "refit_queries": self.refit_queries,
            "refit_seconds": self.refit_seconds,
            "refit_cpu_seconds": self.refit_cpu_seconds,
            "seconds_per_measurement": self.seconds_per_measurement,
            "shared_setup": {"measurements": self.shared_setup.shared_measurements,
                             "seconds": self.shared_setup.shared_seconds},
            "wall_seconds": dict(self.wall_seconds),
            "wall_seconds_total": sum(self.wall_seconds.values()),
        }


class MeteredOracle:
    """Wraps an oracle so that every prediction is counted in the ledger."""

    def __init__(self, oracle: LatencyOracle, ledger: CostLedger):
        self.oracle = oracle
        self.ledger = ledger

    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        self.ledger.oracle_calls += 1
        self.ledger.oracle_queries += len(archs)
        return np.asarray(self.oracle.predict_ms(archs), dtype=float)

    def predict_std_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """The oracle's predictive std of the archs just predicted (part of the same query, not counted again)."""
        return np.asarray(self.oracle.predict_std_ms(archs), dtype=float)
