"""Tables of `hwnas report`: per-run CSV and a Markdown summary grouped by oracle and strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.report.runs import Runs

GROUP = ["space", "oracle", "strategy"]


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Median regret, violation rates and median costs per (space, oracle, strategy)."""
    grouped = table.groupby(GROUP, sort=True)
    out = grouped.agg(
        runs=("run", "size"),
        devices=("device", "nunique"),
        budgets=("budget_ms", "nunique"),
        median_regret=("regret", "median"),
        violation_rate=("violated", "mean"),
        false_feasible_rate=("false_feasible_rate", "mean"),
        median_target_measurements=("target_measurements", "median"),
        median_measurement_s=("measurement_seconds", "median"),
        median_wall_s=("wall_seconds", "median"),
        shared_setup_s=("shared_setup_seconds", "median"),
    ).reset_index()
    return out


def _markdown(frame: pd.DataFrame) -> str:
    """A plain Markdown table (no optional `tabulate` dependency)."""
    def cell(value) -> str:
        if isinstance(value, (float, np.floating)):
            return "n/a" if not np.isfinite(value) else f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_tables(runs: Runs, out_dir: Path, plots: list[str]) -> pd.DataFrame:
    """`report.csv` (one row per run) and `report.md` (the grouped summary, problems, plot list)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.table.to_csv(out_dir / "report.csv", index=False)
    summary = summary_table(runs.table)
    lines = ["# hwnas report", "",
             f"{len(runs.table)} runs; regret = true constrained optimum - accuracy found (feasible on the "
             "device's table); violation_rate = share of runs whose pick breaks the budget on the device; "
             "false_feasible_rate = share of archs the oracle called feasible that are not.", "",
             _markdown(summary), ""]
    if runs.problems:
        lines += ["## Problems", "", *[f"- {p}" for p in runs.problems], ""]
    if plots:
        lines += ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]
    (out_dir / "report.md").write_text("\n".join(lines))
    return summary
