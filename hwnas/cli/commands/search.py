"""Latency-constrained search: best accuracy with latency_ms <= budget_ms on a device."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwnas.engine.session import Session

CONFIG_NAME = "search"


def run(cfg, run_dir: Path, choices: dict[str, str]) -> dict:
    session = Session(cfg, run_dir=run_dir, choices=choices)
    with _progress(bool(cfg.progress), int(cfg.max_evals)) as advance:
        summary = session.search(progress=advance)
    _print_summary(summary, run_dir)
    return summary


class _progress:
    """A rich progress bar over distinct evaluations (nothing when disabled)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._bar = Progress("search", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task("search", total=self.total)
        return lambda done: self._bar.update(task, completed=done)

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.stop()


def _print_summary(summary: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    best, cost, truth = summary["best"], summary["cost"], summary.get("ground_truth")
    table = Table(title=f"hwnas search: {summary['space']} on {summary['device']} "
                        f"(oracle {summary['oracle']}, strategy {summary['strategy']})", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    label = "score (PROXY, not accuracy)" if summary["evaluator_is_proxy"] else "accuracy"
    if best is None:
        table.add_row("best", "no architecture evaluated")
    else:
        table.add_row("best architecture", best["arch"])
        table.add_row(label, "not evaluated (every proposal was screened over budget)" if best["accuracy"] is None
                      else f"{best['accuracy']:.3f}  [{summary['evaluator']}]")
        table.add_row("latency", f"{best['latency_ms']:.3f} ms ({best['latency_source']}); "
                                 f"oracle said {best['predicted_latency_ms']:.3f} ms")
        table.add_row("budget", f"{summary['budget_ms']} ms -> "
                                + ("feasible" if best["feasible"] else "[red]NOT feasible[/red]"))
    if truth is not None and truth.get("partial"):
        covered = truth["best_measured_row"]
        table.add_row("true optimum", f"n/a: {truth['note']}" + (
            f"; best measured row {covered['accuracy']:.3f} {covered['arch']} ({covered['latency_ms']:.3f} ms)"
            if covered else ""))
    elif truth is not None and truth.get("optimum_accuracy") is not None:
        table.add_row("true optimum", f"{truth['optimum_accuracy']:.3f} {truth['optimum_arch']} "
                                      f"({truth['optimum_latency_ms']:.3f} ms)")
        regret = truth.get("regret")
        table.add_row("regret", f"{regret:.3f}" if regret is not None else "n/a (no feasible architecture found)")
    screened = f" ({cost['screened']} more screened over budget, not evaluated)" if cost.get("screened") else ""
    table.add_row("cost", f"{cost['evaluations']} evaluations{screened}, {cost['trials']} trials, "
                          f"{cost['oracle_queries']} oracle queries, "
                          f"{cost['target_measurements_total']} target measurements, "
                          f"{cost['wall_seconds']['search']:.2f} s search wall time "
                          f"({cost['command_seconds']:.2f} s in all)")
    table.add_row("stopped", summary["stop_reason"])
    for note in summary.get("notes") or []:
        table.add_row("[yellow]note[/yellow]", f"[yellow]{note}[/yellow]")
    if summary["resumed"]:
        table.add_row("resumed", f"{summary['resumed']['trials']} journaled trials ({summary['resumed']['mode']})")
    table.add_row("run folder", str(run_dir))
    console = Console()
    console.width = max(console.width, 160)  # architecture strings stay on one line
    console.print(table)
    if summary["objective"] == "pareto":
        _print_front(console, summary)


def _print_front(console, summary: dict) -> None:
    from rich.table import Table

    pareto = summary["pareto"]
    front = Table(title=f"Pareto front: {len(pareto['front'])} architectures (accuracy up, latency down)")
    for column in ("latency (ms)", "accuracy", "architecture"):
        front.add_column(column)
    shown = pareto["front"]
    if len(shown) > 25:  # a long front is summarised by 25 evenly spaced points; summary.json has all
        shown = [shown[int(i)] for i in np.linspace(0, len(shown) - 1, 25).round()]
    for point in shown:
        front.add_row(f"{point['latency_ms']:.3f}", f"{point['accuracy']:.3f}", point["arch"])
    console.print(front)
    budgets = Table(title="best architecture per budget (from the front)")
    for column in ("budget (ms)", "accuracy", "latency (ms)", "architecture"):
        budgets.add_column(column)
    for pick in pareto["best_per_budget"]:
        if pick["arch"] is None:
            budgets.add_row(f"{pick['budget_ms']:g}", "-", "-", "no evaluated architecture is this fast")
        else:
            budgets.add_row(f"{pick['budget_ms']:g}", f"{pick['accuracy']:.3f}", f"{pick['latency_ms']:.3f}",
                            pick["arch"])
    console.print(budgets)
