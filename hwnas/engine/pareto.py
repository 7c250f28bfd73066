"""Accuracy-latency Pareto fronts and the best architecture under each of many budgets, from one run.

Once the front of a run is known, every latency budget is answered from it: the best feasible
architecture under budget b is the front point with the largest latency <= b (Deb et al. 2002's
non-dominated set for two objectives, computed by one sort).
"""

from __future__ import annotations

import numpy as np


def pareto_front(accuracy: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (accuracy up, latency down), fastest first."""
    accuracy, latency_ms = np.asarray(accuracy, dtype=float), np.asarray(latency_ms, dtype=float)
    valid = np.flatnonzero(np.isfinite(accuracy) & np.isfinite(latency_ms))
    if valid.size == 0:
        return valid
    order = valid[np.lexsort((-accuracy[valid], latency_ms[valid]))]
    best_before = np.concatenate([[-np.inf], np.maximum.accumulate(accuracy[order])[:-1]])
    return order[accuracy[order] > best_before]


def best_per_budget(accuracy: np.ndarray, latency_ms: np.ndarray, budgets_ms) -> np.ndarray:
    """For each budget, the index of the most accurate point with latency <= budget (-1 if none)."""
    front = pareto_front(accuracy, latency_ms)
    budgets = np.asarray(budgets_ms, dtype=float)
    position = np.searchsorted(np.asarray(latency_ms, dtype=float)[front], budgets, side="right") - 1
    return np.where(position >= 0, front[np.maximum(position, 0)] if front.size else -1, -1)


def front_of_records(records: list[dict], budgets_ms) -> dict:
    """The run's front over its distinct evaluated architectures and the best one per budget."""
    seen: dict[str, dict] = {}
    for record in records:
        if record.get("accuracy") is not None:  # screened records were never evaluated
            seen.setdefault(record["arch"], record)
    unique = list(seen.values())
    accuracy = np.array([r["accuracy"] for r in unique], dtype=float)
    latency = np.array([r["latency_ms"] for r in unique], dtype=float)

    def entry(r: dict) -> dict:
        out = {"arch": r["arch"], "accuracy": r["accuracy"], "latency_ms": r["latency_ms"]}
        if "true_latency_ms" in r:
            out["true_latency_ms"] = r["true_latency_ms"]
        return out

    picks = best_per_budget(accuracy, latency, budgets_ms)
    return {
        "front": [entry(unique[i]) for i in pareto_front(accuracy, latency)],
        "best_per_budget": [{"budget_ms": float(b), **(entry(unique[i]) if i >= 0 else {"arch": None})}
                            for b, i in zip(np.asarray(budgets_ms, dtype=float), picks)],
    }
