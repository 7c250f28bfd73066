"""The one search loop: ask -> de-duplicate -> batched oracle (-> screen) + evaluator -> journal -> tell.

With `screen`, an architecture the oracle puts over budget is not evaluated for accuracy (the cheap
latency query filters the costly evaluation, as OFA's constrained evolution does, Cai et al. 2020):
it is told to the strategy with accuracy NaN and counts as an oracle query, not an evaluation.

A run can be resumed from its journal: either the strategy restores itself (`Strategy.resume`,
Optuna's RDB storage) and the loop only re-reads the records, or the loop replays the seeded
strategy from the start, answering its asks from the journal without a single oracle query.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from hwnas.core.constraint import Constraint, constrained_key, is_feasible
from hwnas.core.evaluator import Evaluator
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger, MeteredOracle
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy, Trial

if TYPE_CHECKING:
    from hwnas.engine.refine import Refiner


@dataclass
class SearchResult:
    records: list[dict] = field(default_factory=list)
    best: dict | None = None
    stop_reason: str = ""
    resumed_trials: int = 0          # trials taken from the journal of an interrupted run
    resume_mode: str = ""            # "", "replayed" or "restored by the strategy"
    refine: dict | None = None       # measure-and-refit: refits, measurements by phase, the verified pick


def record_accuracy(record: dict) -> float:
    """A record's accuracy; NaN for a screened architecture (stored as null: never evaluated)."""
    value = record.get("accuracy")
    return float("nan") if value is None else float(value)


def best_record(records: list[dict]) -> dict | None:
    """The best trial by the constrained rule (feasible first, then accuracy; else least violation)."""
    if not records:
        return None
    return max(records, key=lambda r: constrained_key(
        Trial((), record_accuracy(r), r["latency_ms"], r["violation_ms"])))


def trials_of(space: SearchSpace, records: list[dict], constraint: Constraint) -> list[Trial]:
    """Journal records as the `Trial`s a strategy was told (violation recomputed from the constraint)."""
    return [Trial(space.canonical(space.from_string(r["arch"])), record_accuracy(r), float(r["latency_ms"]),
                  _violation(constraint, r)) for r in records]


def _violation(constraint: Constraint, record: dict) -> float:
    std = record.get("latency_std_ms")
    return constraint.violation_ms(float(record["latency_ms"]), None if std is None else float(std))


class _Loop:
    """The loop's state: evaluation cache, records, best so far, and the ledger's counters."""

    def __init__(self, space, oracle, evaluator, constraint: Constraint, ledger, true_latency_ms, journal,
                 wall_offset_s, screen: bool):
        self.space, self.evaluator, self.constraint, self.screen = space, evaluator, constraint, screen
        self.metered = MeteredOracle(oracle, ledger)
        self.ledger, self.true_latency_ms, self.journal = ledger, true_latency_ms, journal
        self.cache: dict[Arch, tuple[float, float, float]] = {}   # arch -> (accuracy, latency_ms, violation_ms)
        self.std_ms: dict[Arch, float] = {}                        # the oracle's std, under a chance constraint
        self.measured: dict[Arch, float] = {}                      # target measurements (refine): they replace predictions
        self.records: list[dict] = []
        self.best_so_far = -np.inf
        self.batches = 0
        self.start = time.perf_counter() - wall_offset_s

    def step(self, archs: list[Arch], known: list[dict | None]) -> list[Trial]:
        """Evaluate one asked batch (journaled results in `known` are reused) and record it."""
        new = list(dict.fromkeys(a for a in archs if a not in self.cache))
        from_journal = {self.space.canonical(self.space.from_string(r["arch"])): r for r in known
                        if r is not None and r.get("new")}
        to_query = [a for a in new if a not in from_journal]
        if new:
            if to_query:
                latency = self.metered.predict_ms(to_query)
                std = self.metered.predict_std_ms(to_query) if self.constraint.uses_uncertainty else None
                for i in (i for i, a in enumerate(to_query) if a in self.measured):
                    latency[i] = self.measured[to_query[i]]
                    if std is not None:
                        std[i] = 0.0
                violation = self.constraint.violation_ms(latency, std)
                keep = is_feasible(violation) if self.screen else np.ones(len(to_query), dtype=bool)
                accuracy = np.full(len(to_query), np.nan)
                if keep.any():
                    accuracy[keep] = np.asarray(self.evaluator.accuracy([a for a, k in zip(to_query, keep) if k]),
                                                dtype=float)
                for i, arch in enumerate(to_query):
                    self.cache[arch] = (float(accuracy[i]), float(latency[i]), float(violation[i]))
                    if std is not None:
                        self.std_ms[arch] = float(std[i])
            if len(to_query) < len(new):  # answered from the journal: counted as the interrupted run did
                self.ledger.oracle_queries += len(new) - len(to_query)
                self.ledger.oracle_calls += int(not to_query)
            for arch in new:
                if arch in from_journal:
                    self._cache_journaled(arch, from_journal[arch])
            self.ledger.accuracy_queries += sum(not np.isnan(self.cache[a][0]) for a in new)
        trials = [Trial(a, *self.cache[a]) for a in archs]
        self._record(trials, set(new), known)
        return trials

    def _cache_journaled(self, arch: Arch, record: dict) -> None:
        self.cache[arch] = (record_accuracy(record), float(record["latency_ms"]), _violation(self.constraint, record))
        if record.get("latency_std_ms") is not None:
            self.std_ms[arch] = float(record["latency_std_ms"])

    def absorb(self, records: list[dict]) -> list[Trial]:
        """Take journaled records as they are (no evaluation): cache, counters, records."""
        trials = trials_of(self.space, records, self.constraint)
        for trial, record in zip(trials, records):
            if trial.arch not in self.cache:
                self._cache_journaled(trial.arch, record)
        fresh = [r for r in records if r.get("new")]
        if fresh:
            self.ledger.oracle_calls += len({r.get("batch") for r in fresh})
            self.ledger.oracle_queries = max(self.ledger.oracle_queries, int(records[-1].get("oracle_queries", 0)))
            self.ledger.accuracy_queries += sum(not r.get("screened") for r in fresh)
        self._record(trials, set(), records)
        return trials

    def _record(self, trials: list[Trial], fresh: set, known: list[dict | None]) -> None:
        rows = (np.asarray(self.space.table_index([t.arch for t in trials]), dtype=np.int64)
                if self.true_latency_ms is not None else None)
        batch_records, to_write = [], []
        for i, trial in enumerate(trials):
            self.ledger.trials += 1
            is_new = trial.arch in fresh
            fresh.discard(trial.arch)
            screened = not trial.evaluated
            old = known[i]
            if old is not None:
                is_new = bool(old.get("new"))
            self.ledger.evaluations += int(is_new and not screened)
            self.ledger.screened += int(is_new and screened)
            if trial.feasible:
                self.best_so_far = max(self.best_so_far, trial.accuracy)
            if old is not None:  # a journaled record is kept verbatim: a resumed run equals an uninterrupted one
                batch_records.append(old)
                continue
            record = {
                "trial": self.ledger.trials - 1,
                "batch": self.batches,
                "evaluations": self.ledger.evaluations,
                "arch": self.space.to_string(trial.arch),
                "accuracy": None if screened else trial.accuracy,
                "latency_ms": trial.latency_ms,
                "violation_ms": trial.violation_ms,
                "feasible": trial.feasible,
                "new": is_new,
                "screened": screened,
                "best_feasible_accuracy": float(self.best_so_far) if np.isfinite(self.best_so_far) else None,
                "oracle_queries": self.ledger.oracle_queries,
                "target_measurements": self.ledger.total_target_measurements,
                "wall_s": time.perf_counter() - self.start,
            }
            if trial.arch in self.std_ms:
                record["latency_std_ms"] = self.std_ms[trial.arch]
            if rows is not None:
                true_ms = float(self.true_latency_ms[rows[i]]) if rows[i] >= 0 else float("nan")
                record["table_index"] = int(rows[i])
                record["true_latency_ms"] = true_ms
                record["true_feasible"] = self.constraint.feasible(true_ms)
            batch_records.append(record)
            to_write.append(record)
        self.batches += 1
        self.records.extend(batch_records)
        if self.journal is not None:
            self.journal.append(to_write)


def run_search(
    space: SearchSpace,
    strategy: Strategy,
    oracle: LatencyOracle,
    evaluator: Evaluator,
    constraint: Constraint | float,
    max_evals: int,
    ledger: CostLedger,
    *,
    batch_size: int = 1,
    true_latency_ms: np.ndarray | None = None,
    journal: Journal | None = None,
    progress: Callable[[int], None] | None = None,
    max_stale_trials: int = 1000,
    history: list[dict] | None = None,
    screen: bool = True,
    refiner: "Refiner | None" = None,
) -> SearchResult:
    """Run until `max_evals` distinct architectures are evaluated (or the space is exhausted).

    Repeats are answered from a cache (no oracle query) but still told to the strategy. Each batch
    is journaled (one flushed write) before the strategy is told. `history` (the journal of an
    interrupted run) resumes it. With `screen`, architectures the oracle puts over `budget_ms` skip
    the evaluator (accuracy NaN) and do not count towards `max_evals` (the ledger's `screened`).
    `constraint` is a `Constraint` (or its budget in ms). `true_latency_ms` (a vector over the space's
    table rows) adds the device's true latency to each record where the device is tabled. A `refiner`
    (`refine=true`) measures and refits the oracle every few evaluations and verifies the pick.
    """
    constraint = constraint if isinstance(constraint, Constraint) else Constraint(constraint)
    history = list(history or [])
    loop = _Loop(space, refiner.predictor if refiner is not None else oracle, evaluator, constraint, ledger,
                 true_latency_ms, journal,
                 float(history[-1].get("wall_s", 0.0)) if history else 0.0, screen=screen)
    if refiner is not None:
        loop.measured = refiner.measured
    result = SearchResult(resumed_trials=len(history))
    replay: dict[int, dict] = {}
    if history:
        if strategy.resume(trials_of(space, history, constraint)):
            result.resume_mode = "restored by the strategy"
            for batch in _by_batch(history):
                loop.absorb(batch)
                if refiner is not None and refiner.due(ledger.evaluations):
                    refiner.refine(loop, strategy)
        else:
            result.resume_mode = "replayed"
            replay = {int(r["trial"]): r for r in history}
    stale = 0
    space_size = space.size
    with ledger.phase("search"):
        while True:
            if ledger.evaluations >= max_evals:
                result.stop_reason = f"reached max_evals={max_evals}"
                break
            if space_size is not None and len(loop.cache) >= space_size:
                result.stop_reason = "evaluated every architecture of the space"
                break
            if stale >= max_stale_trials:
                result.stop_reason = (f"{stale} trials in a row brought no new evaluation (repeats"
                                      + (", or screened over budget)" if screen else ")"))
                break
            n = min(batch_size, max_evals - ledger.evaluations)
            first = ledger.trials
            archs = [space.canonical(a) for a in strategy.ask(n)]
            known = [replay.pop(first + i, None) for i in range(len(archs))]
            if any(r is not None and r["arch"] != space.to_string(a) for r, a in zip(known, archs)):
                rest = sorted([r for r in known if r is not None] + list(replay.values()), key=lambda r: r["trial"])
                warnings.warn(f"the strategy did not reproduce its journaled proposals at trial {first}; its "
                              f"remaining {len(rest)} journaled trials are told to it as history, so the run "
                              "continues but will differ from an uninterrupted one", stacklevel=2)
                replay = {}
                for batch in _by_batch(rest):
                    strategy.tell(loop.absorb(batch))
                continue
            evaluations_before = ledger.evaluations
            trials = loop.step(archs, known)
            stale = 0 if ledger.evaluations > evaluations_before else stale + len(archs)
            strategy.tell(trials)
            if refiner is not None and refiner.due(ledger.evaluations):
                refiner.refine(loop, strategy)
            if progress is not None:
                progress(ledger.evaluations)
    result.records = loop.records
    taken, seconds = oracle.measurements_taken()
    if taken:  # an oracle that measures on the target during the search (oracle=measured)
        ledger.add_measurements("search", taken, seconds)
    result.best = best_record(result.records)
    if refiner is not None:
        result.refine = refiner.finish(loop)
        result.best = _pick_record(loop, result.refine)
    return result


def _pick_record(loop: _Loop, refine: dict) -> dict | None:
    """The verified pick as a record: its first evaluation, with its measured latency."""
    arch = refine.pop("pick_arch")
    if arch is None:
        return best_record(loop.records)
    text = loop.space.to_string(arch)
    first = next(r for r in loop.records if r["arch"] == text and r.get("accuracy") is not None)
    measured = refine["pick_measured_ms"]
    return {**first, "latency_ms": measured, "violation_ms": measured - loop.constraint.budget_ms, "feasible": True, "latency_std_ms": 0.0, "measured": True}


def _by_batch(records: list[dict]) -> list[list[dict]]:
    """Journal records grouped by the batch they were asked in (one group per record if unmarked)."""
    groups: list[list[dict]] = []
    for record in records:
        if groups and record.get("batch") is not None and groups[-1][-1].get("batch") == record["batch"]:
            groups[-1].append(record)
        else:
            groups.append([record])
    return groups
