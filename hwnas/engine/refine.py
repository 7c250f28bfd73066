"""Measure-and-refit during the search (`refine=true`, issue 16): a predictor's errors corrected on the target.

Every `every` evaluations the loop measures on the target the `batch` most promising architectures not
measured yet (best accuracy among those the oracle puts within budget; with a predictive std, the ones
most likely to break the budget among the top `2 * batch`), adapts the oracle on every target measurement
so far, re-predicts the evaluated set in one batched call and tells the strategy the corrected latencies
(`Strategy.revise`). A measured architecture keeps its measured latency from then on. While refining, the
search's rule is by default optimistic (`constraint_confidence` 0.2: feasible when P(latency <= budget) >= 0.2),
so near-budget architectures the oracle over-predicts are evaluated. At the end the pick is verified:
evaluated architectures measured by constrained expected improvement; the pick is the best measured within
budget. Adapt, refine and verify measurements together never exceed `max_measurements`; refits stop while
`batch` of them are left for verify. Each measurement batch is journaled (`refine.jsonl`), so a killed run
resumes identically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Callable

import numpy as np

from hwnas.analysis.discrepancy import Discrepancy
from hwnas.core.constraint import Constraint, constrained_key
from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle
from hwnas.core.records import as_matrix
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy, Trial
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger

if TYPE_CHECKING:
    from hwnas.engine.loop import _Loop

JOURNAL = "refine.jsonl"
COUNTED = ("adapt", "refine", "verify")     # the phases the cap `max_measurements` covers
Measure = Callable[[str, list[Arch]], np.ndarray]   # (phase, archs) -> ms, counted in the ledger


@dataclass(frozen=True)
class RefineSettings:
    """k (`every` evaluations between refits), m (`batch` measured per refit), the total measurement cap."""

    every: int = 50
    batch: int = 5
    max_measurements: int = 40

    def __post_init__(self) -> None:
        for name in ("every", "batch", "max_measurements"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise HwnasError(f"refine_{name} must be an integer >= 1, got {value!r}")


def adapts(oracle_class: type) -> bool:
    """Whether an oracle class can be refitted on target measurements (it overrides `adapt`)."""
    return getattr(oracle_class, "adapt", LatencyOracle.adapt) is not LatencyOracle.adapt


CORRECT = True   # the discrepancy correction on top of the refitted oracle


class Corrected:
    """The oracle the search asks while refining: the refitted oracle times the learnt discrepancy factor."""

    def __init__(self, oracle: LatencyOracle, discrepancy: Discrepancy):
        self.oracle, self.discrepancy = oracle, discrepancy

    def __getattr__(self, name: str):
        return getattr(self.oracle, name)

    def predict_ms(self, archs) -> np.ndarray:
        return np.asarray(self.oracle.predict_ms(archs), dtype=float) * self.discrepancy.factor(as_matrix(archs))

    def predict_std_ms(self, archs) -> np.ndarray:
        return np.asarray(self.oracle.predict_std_ms(archs), dtype=float) * self.discrepancy.factor(as_matrix(archs))


class Refiner:
    """The refine state of one run: what was measured, the journaled events, the refits done."""

    def __init__(self, settings: RefineSettings, space: SearchSpace, oracle: LatencyOracle, constraint: Constraint,
                 ledger: CostLedger, measure: Measure, adaptation: tuple[list[Arch], np.ndarray] | None,
                 journal: Journal | None = None, history: list[dict] | None = None):
        self.settings, self.space, self.oracle, self.constraint = settings, space, oracle, constraint
        self.ledger, self._measure, self.journal = ledger, measure, journal
        archs, values = adaptation or ([], np.zeros(0))
        self.measured: dict[Arch, float] = {space.canonical(a): float(v) for a, v in zip(archs, values)}
        history = list(history or [])
        self._refits = [e for e in history if e.get("phase") == "refine"]
        self._verified = {e["archs"][0]: float(e["latency_ms"][0]) for e in history if e.get("phase") == "verify"}
        self.done = 0
        self.verify_steps: list[dict] = []
        self.discrepancy = Discrepancy()
        self.predictor = Corrected(oracle, self.discrepancy) if CORRECT else oracle   # what the search asks

    # ------------------------------------------------------------------ during the search
    def used(self) -> int:
        return sum(self.ledger.target_measurements.get(p, 0) for p in COUNTED)

    def room(self) -> int:
        """Measurements a refit may still take (the cap, less `batch` kept for verify)."""
        return self.settings.max_measurements - self.settings.batch - self.used()

    def due(self, evaluations: int) -> bool:
        return evaluations >= (self.done + 1) * self.settings.every and (
            self.done < len(self._refits) or self.room() > 0)

    def refine(self, loop: "_Loop", strategy: Strategy) -> None:
        """One refit: measure (or take the journaled measurements), adapt on all, re-predict, revise."""
        if self.done < len(self._refits):   # resuming: the interrupted run measured these
            event = self._refits[self.done]
            archs = [self.space.canonical(self.space.from_string(a)) for a in event["archs"]]
            values = np.asarray(event["latency_ms"], dtype=float)
            self.ledger.add_measurements("refine", len(archs))
        else:
            archs = self.choose(loop, min(self.settings.batch, self.room()))
            values = np.asarray(self._measure("refine", archs), dtype=float) if archs else np.zeros(0)
            if self.journal is not None:
                self.journal.append([{"phase": "refine", "refit": self.done, "trials": self.ledger.trials,
                                      "evaluations": self.ledger.evaluations,
                                      "archs": [self.space.to_string(a) for a in archs],
                                      "latency_ms": values.tolist()}])
        self.done += 1
        if not archs:
            return
        self.measured.update((a, float(v)) for a, v in zip(archs, values))
        start, cpu = time.perf_counter(), time.process_time()
        with self.ledger.phase("refine"):
            archs_, values_ = list(self.measured), np.fromiter(self.measured.values(), dtype=float)
            self.oracle.adapt(archs_, values_)
            if CORRECT:
                self.discrepancy.fit(as_matrix(archs_), self.oracle.predict_ms(archs_), values_)
            revised = self.repredict(loop)
        self.ledger.refits += 1
        self.ledger.refit_seconds += time.perf_counter() - start
        self.ledger.refit_cpu_seconds += time.process_time() - cpu
        strategy.revise(revised)

    def choose(self, loop: "_Loop", n: int) -> list[Arch]:
        """The `n` most promising evaluated, unmeasured architectures (see the module docstring)."""
        pool = [(a, v) for a, v in loop.cache.items() if a not in self.measured and not np.isnan(v[0])]
        feasible = sorted((p for p in pool if p[1][2] <= 0), key=lambda p: -p[1][0])
        rest = sorted((p for p in pool if p[1][2] > 0), key=lambda p: p[1][2])   # least predicted violation
        if n <= 0:
            return []
        top = feasible[:2 * n]
        if len(top) > n and self.oracle.has_uncertainty():
            std = np.asarray(self.predictor.predict_std_ms([a for a, _ in top]), dtype=float)
            mean = np.array([v[1] for _, v in top])
            risk = [1.0 - NormalDist().cdf((self.constraint.budget_ms - m) / s) if s > 0 else float(m > self.constraint.budget_ms)
                    for m, s in zip(mean, std)]
            order = sorted(range(len(top)), key=lambda i: (-risk[i], -top[i][1][0]))
            top = [top[i] for i in order]
        return [a for a, _ in (top + rest)[:n]]

    def repredict(self, loop: "_Loop") -> list[Trial]:
        """Re-predict every cached architecture (one batched call); measured ones take their measurement.
        A screened one now within budget is forgotten, so asking it again evaluates it."""
        archs = list(loop.cache)
        latency = np.asarray(self.predictor.predict_ms(archs), dtype=float)
        std = (np.asarray(self.predictor.predict_std_ms(archs), dtype=float) if self.constraint.uses_uncertainty
               else None)
        self.ledger.refit_queries += len(archs)
        revised = []
        for i, arch in enumerate(archs):
            accuracy = loop.cache[arch][0]
            sd = None if std is None else float(std[i])
            ms = float(latency[i])
            if arch in self.measured:
                ms, sd = self.measured[arch], (0.0 if std is not None else None)
            violation = float(self.constraint.violation_ms(ms, sd))
            if np.isnan(accuracy):
                if violation <= 0:
                    del loop.cache[arch]
                    loop.std_ms.pop(arch, None)
                continue
            loop.cache[arch] = (accuracy, ms, violation)
            if sd is not None:
                loop.std_ms[arch] = sd
            revised.append(Trial(arch, accuracy, ms, violation))
        return revised

    # ------------------------------------------------------------------ the pick
    def finish(self, loop: "_Loop") -> dict:
        """Verify: measure the candidate of largest expected improvement until the cap is spent or none can
        improve; the pick is the best evaluated architecture measured within budget. Returns the refine
        summary with the pick."""
        plain = Constraint(self.constraint.budget_ms)
        candidates = {a: v for a, v in loop.cache.items() if not np.isnan(v[0])}
        with self.ledger.phase("verify"):
            while self.settings.max_measurements - self.used() > 0:
                arch = self._next_to_verify(candidates, plain)
                if arch is None:
                    break
                self.measured[arch] = self._verify_measure(arch)
                accuracy, predicted_ms, _ = candidates[arch]
                self.verify_steps.append({"arch": self.space.to_string(arch), "accuracy": accuracy,
                                          "predicted_ms": predicted_ms, "measured_ms": self.measured[arch],
                                          "within_budget": bool(plain.feasible(self.measured[arch]))})
        chosen = self._incumbent(candidates, plain)
        return {"every": self.settings.every, "batch": self.settings.batch,
                "max_measurements": self.settings.max_measurements, "refits": self.ledger.refits,
                "refit_seconds_mean": self.ledger.refit_seconds / self.ledger.refits if self.ledger.refits else None,
                "measurements": {p: self.ledger.target_measurements.get(p, 0) for p in COUNTED},
                "verify_steps": self.verify_steps, "verified": chosen is not None,
                "pick": None if chosen is None else self.space.to_string(chosen),
                "pick_measured_ms": None if chosen is None else self.measured[chosen],
                "pick_arch": chosen}

    def _incumbent(self, candidates: dict, plain: Constraint) -> Arch | None:
        """The most accurate evaluated architecture measured within budget (None: none is)."""
        ok = [a for a in candidates if a in self.measured and plain.feasible(self.measured[a])]
        return max(ok, key=lambda a: (candidates[a][0], -self.measured[a])) if ok else None

    def _next_to_verify(self, candidates: dict, plain: Constraint) -> Arch | None:
        """The unmeasured candidate of largest expected improvement P(latency <= budget) * (accuracy - the
        incumbent's), constrained EI (Schonlau, Welch & Jones 1998; Gardner et al. 2014) under the corrected
        oracle; before any is measured within budget the incumbent is the least accurate candidate. None when
        no candidate can improve."""
        incumbent = self._incumbent(candidates, plain)
        floor = candidates[incumbent][0] if incumbent is not None else min(v[0] for v in candidates.values())
        open_ = [a for a, v in candidates.items() if a not in self.measured and v[0] > floor]
        if not open_:
            return None
        mean = np.array([candidates[a][1] for a in open_])
        if self.oracle.has_uncertainty():
            std = np.asarray(self.predictor.predict_std_ms(open_), dtype=float)
            z = (self.constraint.budget_ms - mean) / np.where(std > 0, std, np.inf)
            p = np.where(std > 0, [NormalDist().cdf(v) for v in z], (mean <= self.constraint.budget_ms).astype(float))
        else:
            p = (mean <= self.constraint.budget_ms).astype(float)
        gain = p * (np.array([candidates[a][0] for a in open_]) - floor)
        best = max(range(len(open_)), key=lambda i: (gain[i], candidates[open_[i]][0]))
        return open_[best] if gain[best] > 0 else None

    def _verify_measure(self, arch: Arch) -> float:
        text = self.space.to_string(arch)
        if text in self._verified:   # resuming: measured by the interrupted run
            self.ledger.add_measurements("verify", 1)
            return self._verified[text]
        value = float(np.asarray(self._measure("verify", [arch]), dtype=float)[0])
        if self.journal is not None:
            self.journal.append([{"phase": "verify", "archs": [text], "latency_ms": [value]}])
        return value
