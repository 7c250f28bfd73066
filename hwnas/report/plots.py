"""Plots of `hwnas report` (PNG, matplotlib's Agg backend): cost vs accuracy, anytime regret,
violation rate, cost by phase, and Pareto fronts where runs carry them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.report.runs import PHASES, Runs, anytime_regret, pareto_points

COST_AXES = (("target_measurements", "target-device measurements"),
             ("measurement_seconds", "measurement seconds"), ("wall_seconds", "wall seconds"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accuracy_vs_cost(table: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (column, label) in zip(axes, COST_AXES):
        for oracle, group in table.groupby("oracle"):
            ax.scatter(np.maximum(group[column], 1e-3), group["best_accuracy_any"], label=oracle, alpha=0.7, s=18)
        ax.set_xscale("log")
        ax.set_xlabel(f"total {label} (log)")
        ax.set_ylabel("accuracy found (%)")
    axes[0].legend(title="oracle", fontsize=8)
    fig.suptitle("Accuracy found vs total search cost, per oracle")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def regret_curves(runs: Runs, table: pd.DataFrame, path: Path) -> bool:
    top = int(table["evaluations"].max())
    grid = np.unique(np.linspace(1, top, 60).astype(int))
    curves = anytime_regret(Runs(table, runs.trials), grid)
    if curves.empty:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy, group in curves.groupby("strategy"):
        median = group.groupby("evaluations")["regret"].median()
        ax.plot(median.index, median.to_numpy(), label=strategy)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("architectures evaluated")
    ax.set_ylabel("regret (accuracy points, median over runs)")
    ax.set_title("Anytime regret per strategy (true feasibility)")
    ax.legend(title="strategy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def violation_rate(table: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    rates = table.groupby("oracle")[["violated", "false_feasible_rate"]].mean()
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(rates))
    ax.bar(x - 0.2, rates["violated"], 0.4, label="runs whose pick breaks the budget")
    ax.bar(x + 0.2, rates["false_feasible_rate"].fillna(0), 0.4, label="archs wrongly called feasible")
    ax.set_xticks(x, rates.index)
    ax.set_ylim(0, 1)
    ax.set_ylabel("rate")
    ax.set_title("Constraint-violation rate per oracle (true latency from the device table)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_by_phase(table: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    per_oracle = table.groupby("oracle").median(numeric_only=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, (fmt, label) in zip(axes, (("measurements_{}", "target measurements"), ("wall_{}_s", "wall seconds"))):
        bottom = np.zeros(len(per_oracle))
        for phase in PHASES:
            values = per_oracle[fmt.format(phase)].to_numpy(float)
            ax.bar(per_oracle.index, values, bottom=bottom, label=phase)
            bottom += values
        ax.set_ylabel(f"{label} (median run)")
        ax.set_yscale("symlog", linthresh=1)
    axes[0].legend(title="phase")
    fig.suptitle("Cost by phase per oracle (setup, adaptation, search, verification)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_fronts(runs: Runs, table: pd.DataFrame, path: Path) -> bool:
    """Runs whose summary has a Pareto front of {accuracy, latency_ms} points (`pareto_points`), one line per run."""
    summaries = getattr(runs, "summaries", {})
    fronts = []
    for row in table.itertuples():
        points = pd.DataFrame(pareto_points(summaries.get(row.run, {})))
        if {"accuracy", "latency_ms"} <= set(points.columns):
            fronts.append((f"{row.oracle}/{row.strategy}/s{row.seed}", points.sort_values("latency_ms")))
    if not fronts:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in fronts[:30]:
        ax.step(points["latency_ms"], points["accuracy"], where="post", label=label, alpha=0.7)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Pareto fronts")
    if len(fronts) <= 12:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_plots(runs: Runs, out_dir: Path) -> list[str]:
    """Every plot that the runs support, for the most common space; returns the file names written."""
    table = runs.table[runs.table["space"] == runs.table["space"].value_counts().index[0]]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    accuracy_vs_cost(table, out_dir / "accuracy_vs_cost.png")
    written.append("accuracy_vs_cost.png")
    if regret_curves(runs, table, out_dir / "anytime_regret.png"):
        written.append("anytime_regret.png")
    violation_rate(table, out_dir / "violation_rate.png")
    written.append("violation_rate.png")
    cost_by_phase(table, out_dir / "cost_by_phase.png")
    written.append("cost_by_phase.png")
    if pareto_fronts(runs, table, out_dir / "pareto_fronts.png"):
        written.append("pareto_fronts.png")
    return written
