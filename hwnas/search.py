"""The one search loop: ask -> de-duplicate -> batched oracle + evaluator -> tell -> record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from hwnas.evaluator import Evaluator
from hwnas.journal import Journal
from hwnas.ledger import CostLedger, MeteredOracle
from hwnas.oracle import LatencyOracle
from hwnas.space import Arch, SearchSpace
from hwnas.strategy import Strategy, Trial, constrained_key


@dataclass
class SearchResult:
    records: list[dict] = field(default_factory=list)
    best: dict | None = None
    stop_reason: str = ""


def best_record(records: list[dict]) -> dict | None:
    """The best trial by the constrained rule (feasible first, then accuracy; else least violation)."""
    if not records:
        return None
    return max(records, key=lambda r: constrained_key(
        Trial((), r["accuracy"], r["latency_ms"], r["violation_ms"])))


def run_search(
    space: SearchSpace,
    strategy: Strategy,
    oracle: LatencyOracle,
    evaluator: Evaluator,
    budget_ms: float,
    max_evals: int,
    ledger: CostLedger,
    *,
    batch_size: int = 1,
    true_latency_ms: np.ndarray | None = None,
    journal: Journal | None = None,
    progress: Callable[[int], None] | None = None,
    max_stale_trials: int = 1000,
) -> SearchResult:
    """Run until `max_evals` distinct architectures are evaluated (or the space is exhausted).

    Repeats are answered from a cache (no oracle query) but still told to the strategy. Records go
    to memory and, one flushed write per batch, to the journal. `true_latency_ms` (a vector over the
    space's table rows) adds the device's true latency to each record where the device is tabled.
    """
    metered = MeteredOracle(oracle, ledger)
    cache: dict[Arch, tuple[float, float]] = {}
    result = SearchResult()
    best_so_far = -np.inf
    stale = 0
    start = time.perf_counter()
    space_size = space.size
    with ledger.phase("search"):
        while True:
            if ledger.evaluations >= max_evals:
                result.stop_reason = f"reached max_evals={max_evals}"
                break
            if space_size is not None and len(cache) >= space_size:
                result.stop_reason = "evaluated every architecture of the space"
                break
            if stale >= max_stale_trials:
                result.stop_reason = f"{stale} trials in a row proposed only evaluated architectures"
                break
            n = min(batch_size, max_evals - ledger.evaluations)
            archs = [space.canonical(a) for a in strategy.ask(n)]
            new = list(dict.fromkeys(a for a in archs if a not in cache))
            if new:
                latency = metered.predict_ms(new)
                accuracy = np.asarray(evaluator.accuracy(new), dtype=float)
                ledger.accuracy_queries += len(new)
                ledger.evaluations += len(new)
                for arch, acc, lat in zip(new, accuracy, latency):
                    cache[arch] = (float(acc), float(lat))
            stale = 0 if new else stale + len(archs)
            trials = [Trial(a, cache[a][0], cache[a][1], cache[a][1] - budget_ms) for a in archs]
            strategy.tell(trials)
            rows = _index_rows(space, archs) if true_latency_ms is not None else None
            fresh = set(new)
            batch_records = []
            for i, trial in enumerate(trials):
                ledger.trials += 1
                if trial.feasible:
                    best_so_far = max(best_so_far, trial.accuracy)
                record = {
                    "trial": ledger.trials - 1,
                    "evaluations": ledger.evaluations,
                    "arch": space.to_string(trial.arch),
                    "accuracy": trial.accuracy,
                    "latency_ms": trial.latency_ms,
                    "violation_ms": trial.violation_ms,
                    "feasible": trial.feasible,
                    "new": trial.arch in fresh,
                    "best_feasible_accuracy": float(best_so_far) if np.isfinite(best_so_far) else None,
                    "oracle_queries": ledger.oracle_queries,
                    "target_measurements": ledger.total_target_measurements,
                    "wall_s": time.perf_counter() - start,
                }
                fresh.discard(trial.arch)
                if rows is not None:
                    true_ms = float(true_latency_ms[rows[i]]) if rows[i] >= 0 else float("nan")
                    record["table_index"] = int(rows[i])
                    record["true_latency_ms"] = true_ms
                    record["true_feasible"] = bool(true_ms <= budget_ms)
                batch_records.append(record)
            result.records.extend(batch_records)
            if journal is not None:
                journal.append(batch_records)
            if progress is not None:
                progress(ledger.evaluations)
    result.best = best_record(result.records)
    return result


def _index_rows(space: SearchSpace, archs: list[Arch]) -> np.ndarray:
    return np.asarray(space.table_index(archs), dtype=np.int64)
