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


def _save(fig, path: Path) -> None:
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def accuracy_vs_cost(table: pd.DataFrame):
    """Feasible picks as filled points per oracle; picks over budget on the device as hollow red circles."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    over = table[table["violated"]]
    for ax, (column, label) in zip(axes, COST_AXES):
        for oracle, group in table[~table["violated"]].groupby("oracle"):
            ax.scatter(np.maximum(group[column], 1e-3), group["found_accuracy"], label=oracle, alpha=0.7, s=18)
        if len(over):
            ax.scatter(np.maximum(over[column], 1e-3), over["best_accuracy_any"], facecolors="none",
                       edgecolors="red", s=40, linewidths=1.2, label="pick over budget (infeasible)")
        ax.set_xscale("log")
        ax.set_xlabel(f"total {label} (log)")
        ax.set_ylabel("accuracy found (%)")
    axes[0].legend(title="oracle", fontsize=8)
    fig.suptitle(f"Accuracy found vs total search cost, per oracle ({len(over)} of {len(table)} picks over budget)")
    return fig


def _readable_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, min_n_ticks=4))


def regret_curves(runs: Runs, table: pd.DataFrame):
    """Median regret with a 25-75 % band vs evaluations, one line per oracle x strategy, one panel per device."""
    top = int(table["evaluations"].max())
    grid = np.unique(np.linspace(1, top, 60).astype(int))
    curves = anytime_regret(Runs(table, runs.trials), grid)
    if curves.empty:
        return None
    curves = curves.merge(table[["run", "device"]], on="run")
    devices = sorted(curves["device"].unique())[:6]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(devices), figsize=(7 * len(devices), 4.5), squeeze=False, sharey=True)
    for ax, device in zip(axes[0], devices):
        for (oracle, strategy), group in curves[curves["device"] == device].groupby(["oracle", "strategy"]):
            by_evals = group.groupby("evaluations")["regret"]
            median = by_evals.median()
            line, = ax.plot(median.index, median.to_numpy(), label=f"{oracle} / {strategy}")
            ax.fill_between(median.index, by_evals.quantile(0.25).to_numpy(), by_evals.quantile(0.75).to_numpy(),
                            color=line.get_color(), alpha=0.2, linewidth=0)
        _readable_ticks(ax)
        ax.set_xlabel("architectures evaluated")
        ax.set_title(f"{device}")
        ax.legend(title="oracle / strategy", fontsize=8)
    axes[0][0].set_ylabel("regret (accuracy points): median, 25-75 % band")
    fig.suptitle("Anytime regret (true feasibility; runs without a feasible find yet are left out)")
    return fig


def violation_rate(table: pd.DataFrame):
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
    return fig


def regret_vs_measurements(table: pd.DataFrame):
    """Median regret of feasible picks against median target measurements (log), one point per oracle use x
    strategy, labelled with its share of picks over budget."""
    plt = _pyplot()
    groups = table.assign(method=table.get("method", table["oracle"])).groupby(["method", "strategy"])
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for (method, strategy), group in groups:
        x, y = max(float(group["target_measurements"].median()), 1.0), float(group["regret"].median())
        ax.scatter([x], [y], label=f"{method} / {strategy}", s=30)
        ax.annotate(f"{100 * group['violated'].mean():.0f}% over", (x, y), fontsize=7, xytext=(4, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("target measurements per run (median, all phases, log)")
    ax.set_ylabel("median regret of feasible picks")
    ax.set_title("Regret against target measurements per oracle")
    ax.legend(fontsize=7, ncol=2)
    return fig


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or value >= 100 else f"{value:.3g}"


def cost_by_phase(table: pd.DataFrame):
    """Each phase's share of the median run's cost (linear), each segment annotated with its value."""
    plt = _pyplot()
    per_oracle = table.groupby("oracle").median(numeric_only=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, (fmt, label) in zip(axes, (("measurements_{}", "target measurements"), ("wall_{}_s", "wall seconds"))):
        values = np.array([per_oracle[fmt.format(phase)].to_numpy(float) for phase in PHASES])
        totals = values.sum(axis=0)
        shares = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
        bottom = np.zeros(len(per_oracle))
        for phase, share, value in zip(PHASES, shares, values):
            ax.bar(per_oracle.index, share, bottom=bottom, label=phase)
            for x, (b, s, v) in enumerate(zip(bottom, share, value)):
                if s >= 0.04:
                    ax.text(x, b + s / 2, _amount(v), ha="center", va="center", fontsize=8)
            bottom += share
        for x, total in enumerate(totals):
            ax.text(x, 1.02, f"total {_amount(total)}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, 1.12)
        ax.set_ylabel(f"share of {label} (median run)")
    axes[0].legend(title="phase", fontsize=8)
    fig.suptitle("Cost by phase per oracle: shares, values in the bars")
    return fig


def pareto_fronts(runs: Runs, table: pd.DataFrame):
    """Runs whose summary has a Pareto front of {accuracy, latency_ms} points (`pareto_points`), one line per run."""
    summaries = getattr(runs, "summaries", {})
    fronts = []
    for row in table.itertuples():
        points = pd.DataFrame(pareto_points(summaries.get(row.run, {})))
        if {"accuracy", "latency_ms"} <= set(points.columns):
            fronts.append((f"{row.oracle}/{row.strategy}/s{row.seed}", points.sort_values("latency_ms")))
    if not fronts:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in fronts[:30]:
        ax.step(points["latency_ms"], points["accuracy"], where="post", label=label, alpha=0.7)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Pareto fronts")
    if len(fronts) <= 12:
        ax.legend(fontsize=7)
    return fig


def write_plots(runs: Runs, out_dir: Path) -> list[str]:
    """Every plot that the runs support, for the most common space; returns the file names written."""
    table = runs.table[runs.table["space"] == runs.table["space"].value_counts().index[0]]
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {"accuracy_vs_cost": accuracy_vs_cost(table), "anytime_regret": regret_curves(runs, table),
               "violation_rate": violation_rate(table), "cost_by_phase": cost_by_phase(table),
               "regret_vs_measurements": regret_vs_measurements(table),
               "pareto_fronts": pareto_fronts(runs, table)}
    written = []
    for name, fig in figures.items():
        if fig is not None:
            _save(fig, out_dir / f"{name}.png")
            written.append(f"{name}.png")
    return written
