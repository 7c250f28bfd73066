"""Run outputs: ground truth where the space is tabled, the summary, and the files of a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.core.constraint import Constraint
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import SearchSpace
from hwnas.core.subspace import TableSubspace


def ground_truth(space: SearchSpace, evaluator: Evaluator, true_latency_ms: np.ndarray,
                 budget_ms: float) -> dict | None:
    """The true constrained optimum over the table, where the table holds the whole (searched) space; where the
    device measured only part of it, no optimum or regret (`partial`), only the best over its measured rows."""
    if not space.exhaustively_tabled:
        return None
    searched = space.rows if isinstance(space, TableSubspace) else np.arange(len(true_latency_ms))
    rows = searched[np.isfinite(true_latency_ms[searched])]
    if len(rows) < len(searched):
        return _partial(space, evaluator, true_latency_ms, budget_ms, rows, len(searched))
    archs = np.asarray(space.table_archs())[rows]
    accuracy = np.asarray(evaluator.accuracy(archs), dtype=float)
    feasible = Constraint(budget_ms).feasible(true_latency_ms[rows])
    if not feasible.any():
        return {"optimum_accuracy": None, "n_feasible": 0, "n_tabled": int(len(rows))}
    best = int(np.flatnonzero(feasible)[np.argmax(accuracy[feasible])])
    return {
        "optimum_accuracy": float(accuracy[best]),
        "optimum_arch": space.to_string(tuple(int(v) for v in archs[best])),
        "optimum_table_index": int(rows[best]),
        "optimum_latency_ms": float(true_latency_ms[rows[best]]),
        "n_feasible": int(feasible.sum()),
        "n_tabled": int(len(rows)),
    }


def _partial(space: SearchSpace, evaluator: Evaluator, true_latency_ms: np.ndarray, budget_ms: float,
             rows: np.ndarray, n_searched: int) -> dict:
    """No true optimum where the device's table misses searched architectures: the best of the measured rows."""
    truth = {"optimum_accuracy": None, "regret": None, "partial": True, "n_tabled": int(len(rows)),
             "n_searched": int(n_searched), "best_measured_row": None,
             "note": f"the device measured {len(rows):,} of the {n_searched:,} searched architectures: "
                     "no true optimum or regret"}
    if len(rows):
        archs = np.asarray(space.table_archs())[rows]
        accuracy = np.asarray(evaluator.accuracy(archs), dtype=float)
        feasible = np.flatnonzero(Constraint(budget_ms).feasible(true_latency_ms[rows]))
        if feasible.size:
            best = int(feasible[np.argmax(accuracy[feasible])])
            truth["best_measured_row"] = {
                "accuracy": float(accuracy[best]), "arch": space.to_string(tuple(int(v) for v in archs[best])),
                "table_index": int(rows[best]), "latency_ms": float(true_latency_ms[rows[best]])}
    return truth


def best_summary(space: SearchSpace, best: dict, budget_ms: float) -> dict:
    """The best record, with latency and feasibility from the device's table where there is one."""
    true_ms = best.get("true_latency_ms")
    tabled = true_ms is not None and np.isfinite(true_ms)
    arch = space.from_string(best["arch"])
    return {
        "arch": best["arch"],
        "data_form": space.to_data_form(arch),
        "table_index": best.get("table_index"),
        "accuracy": best["accuracy"],
        "latency_ms": float(true_ms) if tabled else best["latency_ms"],
        "predicted_latency_ms": best["latency_ms"],
        "latency_source": "device table" if tabled else ("target measurement" if best.get("measured") else "oracle"),
        "feasible": Constraint(budget_ms).feasible(float(true_ms)) if tabled else bool(best["feasible"]),
        "feasible_by_oracle": bool(best["feasible"]),
        "found_at_evaluation": best["evaluations"],
    }


def write_run(run_dir: Path, records: list[dict], summary: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    if records:
        pd.DataFrame.from_records(records).to_parquet(run_dir / "trials.parquet", index=False)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
