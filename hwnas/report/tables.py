"""Tables of `hwnas report`: per-run CSV and a Markdown summary grouped by oracle and strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.report.runs import Runs

GROUP = ["space", "oracle", "strategy"]


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Median regret of feasible picks, runs over budget, violation rates and median costs per group."""
    grouped = table.groupby(GROUP, sort=True)
    out = grouped.agg(
        runs=("run", "size"),
        devices=("device", "nunique"),
        budgets=("budget_ms", "nunique"),
        median_regret_feasible=("regret", "median"),
        runs_over_budget=("violated", "sum"),
        violation_rate=("violated", "mean"),
        false_feasible_rate=("false_feasible_rate", "mean"),
        median_target_measurements=("target_measurements", "median"),
        median_measurement_s=("measurement_seconds", "median"),
        median_wall_s=("wall_seconds", "median"),
        shared_setup_s=("shared_setup_seconds", "median"),
    ).reset_index()
    out["runs_over_budget"] = out["runs_over_budget"].astype(int)
    return out


def regret_by_measurements(table: pd.DataFrame) -> pd.DataFrame:
    """Regret against target measurements per oracle use (`method`: oracle, +chance, +refine) and strategy."""
    table = table.assign(method=table.get("method", table["oracle"]))
    out = table.groupby(["space", "method", "strategy"], sort=True).agg(
        runs=("run", "size"),
        median_target_measurements=("target_measurements", "median"),
        max_target_measurements=("target_measurements", "max"),
        median_regret_feasible=("regret", "median"),
        p90_regret_feasible=("regret", lambda r: float(np.nanpercentile(r, 90)) if r.notna().any() else np.nan),
        runs_over_budget=("violated", "sum"),
    ).reset_index()
    out["runs_over_budget"] = out["runs_over_budget"].astype(int)
    return out.sort_values(["space", "strategy", "median_target_measurements"]).reset_index(drop=True)


def format_number(value) -> str:
    """Integers with thousands separators (15,625), other numbers to 4 significant digits."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if not np.isfinite(value):
        return "n/a"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def _markdown_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as printed in report.md: regret of feasible picks, and runs over budget as count (share)."""
    shown = summary.drop(columns=["violation_rate"]).rename(columns={
        "median_regret_feasible": "regret of feasible picks (median)", "runs_over_budget": "runs over budget"})
    shown["runs over budget"] = [f"{int(n):,} of {int(r):,} ({100 * n / r:.0f} %)"
                                 for n, r in zip(summary["runs_over_budget"], summary["runs"])]
    return shown


def _markdown(frame: pd.DataFrame) -> str:
    """A plain Markdown table (no optional `tabulate` dependency)."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(format_number(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_tables(runs: Runs, out_dir: Path, plots: list[str]) -> pd.DataFrame:
    """`report.csv` (one row per run) and `report.md` (the grouped summary, problems, plot list)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs.table.to_csv(out_dir / "report.csv", index=False)
    summary = summary_table(runs.table)
    lines = ["# hwnas report", "",
             f"{len(runs.table):,} runs; regret of feasible picks = true constrained optimum - accuracy found, "
             "over the runs whose pick is within budget on the device's table (a pick over budget has no "
             "regret: it is counted in runs over budget instead); false_feasible_rate = share of archs the "
             "oracle called feasible that are not.", "",
             _markdown(_markdown_summary(summary)), "",
             "## Regret against target measurements", "",
             "Per oracle and how it was used (+chance: a chance constraint; +refine: measure-and-refit), "
             "fewest measurements first; measurements count every phase (setup, adapt, search, refine, verify).", "",
             _markdown(regret_by_measurements(runs.table)), ""]
    if runs.problems:
        lines += ["## Problems", "", *[f"- {p}" for p in runs.problems], ""]
    if plots:
        lines += ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]
    (out_dir / "report.md").write_text("\n".join(lines))
    return summary
