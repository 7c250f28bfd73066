"""Load search runs for `hwnas report`: one row per run, anytime curves, and the problems found.

A run folder holds `summary.json` (written last) and `trials.parquet` (or `trials.jsonl` while it runs).
A folder with trials but no summary is a half-written run: reported as a problem and left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.core.errors import HwnasError

PHASES = ("setup", "adapt", "search", "refine", "verify")


@dataclass
class Runs:
    """Every good run as a row of `table`, its trials by run folder, and one line per problem."""

    table: pd.DataFrame
    trials: dict[str, pd.DataFrame] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def find_run_dirs(folders: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Run folders under `folders` (a run folder itself, a sweep, or a tree of them) and problems."""
    runs, problems = [], []
    for folder in map(Path, folders):
        if not folder.exists():
            problems.append(f"{folder}: no such folder")
            continue
        markers = {p.parent for name in ("summary.json", "trials.jsonl", "trials.parquet")
                   for p in folder.rglob(name) if "report" not in p.relative_to(folder).parts}
        markers |= {p.parent.parent for p in folder.rglob(".hydra/config.yaml")}
        if not markers:
            problems.append(f"{folder}: no runs here (no summary.json, trials or .hydra/config.yaml below it)")
        runs.extend(sorted(markers))
    return list(dict.fromkeys(runs)), problems


def method_label(summary: dict) -> str:
    """The oracle and how it was used: `help`, `help+chance0.9` (a chance constraint), `help+refine`."""
    config = summary.get("config") or {}
    label = str(summary["oracle"])
    confidence = config.get("constraint_confidence", 0.5)
    if confidence is not None and float(confidence) > 0.5:
        label += f"+chance{float(confidence):g}"
    return label + ("+refine" if summary.get("refine") else "")


def _summary_row(run_dir: Path, summary: dict) -> dict:
    cost, best, truth = summary["cost"], summary.get("best") or {}, summary.get("ground_truth") or {}
    row = {
        "run": str(run_dir), "space": summary["space"], "device": summary["device"],
        "oracle": summary["oracle"], "method": method_label(summary), "strategy": summary.get("strategy") or "?",
        "budget_ms": float(summary["budget_ms"]), "seed": int(summary["seed"]),
        "evaluations": int(cost["evaluations"]), "trials": int(cost["trials"]),
        "found_accuracy": best.get("accuracy", np.nan) if best.get("feasible") else np.nan,
        "best_accuracy_any": best.get("accuracy", np.nan),
        "found_feasible": bool(best.get("feasible", False)),
        "violated": bool(best) and not best.get("feasible", False),
        "optimum_accuracy": truth.get("optimum_accuracy", np.nan),
        "regret": truth["regret"] if truth.get("regret") is not None else np.nan,
        "target_measurements": int(cost["target_measurements_total"]),
        "measurement_seconds": float(cost["measurement_seconds"]),
        "wall_seconds": float(cost.get("wall_seconds_total", sum(cost["wall_seconds"].values()))),
        "shared_setup_seconds": float(cost.get("shared_setup", {}).get("seconds", 0.0)),
    }
    for phase in PHASES:
        row[f"measurements_{phase}"] = int(cost["target_measurements"].get(phase, 0))
        row[f"wall_{phase}_s"] = float(cost["wall_seconds"].get(phase, 0.0))
    row["has_pareto"] = bool(pareto_points(summary))
    return row


def pareto_points(summary: dict) -> list[dict]:
    """The run's Pareto front: `pareto.front` as `hwnas search` writes it, or a list under a `pareto*` key."""
    for key, value in summary.items():
        if not key.startswith("pareto"):
            continue
        points = value.get("front") if isinstance(value, dict) else value
        if isinstance(points, list) and points and all(isinstance(p, dict) for p in points):
            return points
    return []


def _read_trials(run_dir: Path) -> pd.DataFrame | None:
    if (run_dir / "trials.parquet").is_file():
        return pd.read_parquet(run_dir / "trials.parquet")
    if (run_dir / "trials.jsonl").is_file():
        return pd.read_json(run_dir / "trials.jsonl", lines=True)
    return None


def _false_feasible_rate(frame: pd.DataFrame | None) -> float:
    """Share of evaluated archs the oracle called feasible that break the budget on the device."""
    if frame is None or "true_feasible" not in frame or frame.empty:
        return float("nan")
    new = frame[frame["new"]] if "new" in frame else frame
    said = new["feasible"].to_numpy(bool)
    return float((said & ~new["true_feasible"].to_numpy(bool)).sum() / said.sum()) if said.any() else float("nan")


def load_runs(folders: list[str | Path]) -> Runs:
    """Read every run under `folders`; bad ones become problems, the good ones are still loaded."""
    run_dirs, problems = find_run_dirs(folders)
    rows, trials, summaries = [], {}, {}
    for run_dir in run_dirs:
        path = run_dir / "summary.json"
        if not path.is_file():
            problems.append(f"{run_dir}: half-written run (no summary.json): left out")
            continue
        try:
            summary = json.loads(path.read_text())
            row = _summary_row(run_dir, summary)
            frame = _read_trials(run_dir)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, OSError) as exc:
            problems.append(f"{run_dir}: unreadable run ({type(exc).__name__}: {exc}): left out")
            continue
        row["false_feasible_rate"] = _false_feasible_rate(frame)
        rows.append(row)
        summaries[str(run_dir)] = summary
        if frame is not None:
            trials[str(run_dir)] = frame
    if not rows:
        raise HwnasError("no complete runs found in " + ", ".join(map(str, folders))
                         + (f" ({'; '.join(problems)})" if problems else ""))
    notes = pd.Series([n for s in summaries.values() for n in s.get("notes") or []], dtype=object).value_counts()
    problems += [f"{count} run(s): {note}" for note, count in notes.items()]
    table = pd.DataFrame(rows)
    spaces = table["space"].value_counts()
    if len(spaces) > 1:
        problems.append("runs from several spaces (" + ", ".join(f"{s}: {n}" for s, n in spaces.items())
                        + f"): the table lists all; plots show {spaces.index[0]} only")
    runs = Runs(table, trials, problems)
    runs.summaries = summaries  # type: ignore[attr-defined]
    return runs


def anytime_regret(runs: Runs, grid: np.ndarray) -> pd.DataFrame:
    """Regret after each number of evaluations in `grid`, one row per run (NaN before a feasible find).

    Uses the device's true feasibility where the trials carry it, else the oracle's.
    """
    out = []
    for row in runs.table.itertuples():
        frame = runs.trials.get(row.run)
        if frame is None or not np.isfinite(row.optimum_accuracy) or frame.empty:
            continue
        feasible = frame["true_feasible"] if "true_feasible" in frame else frame["feasible"]
        best = np.fmax.accumulate(np.where(feasible.to_numpy(bool), frame["accuracy"].to_numpy(float), np.nan))
        at = np.searchsorted(frame["evaluations"].to_numpy(), grid, side="right") - 1
        regret = np.where(at >= 0, row.optimum_accuracy - best[np.maximum(at, 0)], np.nan)
        out.append(pd.DataFrame({"run": row.run, "oracle": row.oracle, "strategy": row.strategy,
                                 "evaluations": grid, "regret": regret}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["run", "oracle", "strategy", "evaluations", "regret"])
