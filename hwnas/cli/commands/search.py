"""Latency-constrained search: best accuracy with latency_ms <= budget_ms on a device."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from hwnas.engine import resume
from hwnas.config import group_choices, group_file, instantiate
from hwnas.core.errors import HwnasError
from hwnas.engine.journal import Journal
from hwnas.engine.pareto import front_of_records
from hwnas.engine.session import build_components
from hwnas.engine.results import best_summary, ground_truth, write_run
from hwnas.engine.loop import run_search
from hwnas.core.strategy import check_objective

CONFIG_NAME = "search"


def run(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    started = time.perf_counter()
    objective = check_objective(str(cfg.get("objective", "constrained")))
    if "optuna_storage" in cfg and cfg.optuna_storage is None:  # the study lives next to the journal
        cfg.optuna_storage = f"sqlite:///{run_dir / 'optuna.db'}"
    history = resume.prepare(run_dir, OmegaConf.to_container(cfg, resolve=True), bool(cfg.get("resume", False)))
    parts = build_components(cfg)
    budget_ms = float(cfg.budget_ms)
    strategy_name = HydraConfig.get().runtime.choices.get("strategy")
    strategy = _make_strategy(cfg, parts.space, budget_ms, objective, strategy_name)
    try:
        with Journal(run_dir / resume.JOURNAL) as journal, \
                _progress(bool(cfg.progress), int(cfg.max_evals)) as advance:
            result = run_search(parts.space, strategy, parts.oracle, parts.evaluator, budget_ms, int(cfg.max_evals),
                                parts.ledger, batch_size=int(cfg.batch_size), true_latency_ms=parts.true_latency_ms,
                                journal=journal, progress=advance, max_stale_trials=int(cfg.max_stale_trials),
                                history=history, screen=bool(cfg.get("screen", False)) and objective == "constrained")
    finally:
        strategy.close()

    summary = {
        "space": parts.space.name,
        "device": str(cfg.device),
        "oracle": parts.oracle.name,
        "strategy": strategy_name,
        "objective": objective,
        "evaluator": parts.evaluator.metric,
        "evaluator_is_proxy": parts.evaluator.is_proxy,
        "budget_ms": budget_ms,
        "seed": int(cfg.seed),
        "stop_reason": result.stop_reason,
        "resumed": {"trials": result.resumed_trials, "mode": result.resume_mode} if result.resumed_trials else None,
        "best": best_summary(parts.space, result.best, budget_ms) if result.best else None,
        "pareto": front_of_records(result.records, _budgets(cfg, parts.true_latency_ms, budget_ms)),
        "cost": parts.ledger.to_dict(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    truth = ground_truth(parts.space, parts.evaluator, parts.true_latency_ms, budget_ms)
    if truth is not None:
        found = summary["best"]["accuracy"] if summary["best"] and summary["best"]["feasible"] else None
        truth["regret"] = (truth["optimum_accuracy"] - found
                           if found is not None and truth["optimum_accuracy"] is not None else None)
        summary["ground_truth"] = truth
    write_run(run_dir, result.records, summary)
    summary["cost"]["command_seconds"] = time.perf_counter() - started
    _print_summary(summary, run_dir)
    return summary


def _make_strategy(cfg, space, budget_ms: float, objective: str, name: str | None):
    """The configured strategy; `objective=pareto` only for strategies that take an `objective`."""
    extra = {}
    if objective == "pareto":
        if "objective" not in _parameters(cfg.strategy):
            able = [c for c in group_choices("strategy")
                    if "objective" in _parameters(OmegaConf.load(group_file("strategy", c)))]
            raise HwnasError(f"strategy {name} optimises one objective; objective=pareto needs one of: "
                             f"{', '.join(able)}")
        extra["objective"] = objective
    return instantiate(cfg.strategy, "strategy", space=space, budget_ms=budget_ms, seed=int(cfg.seed), **extra)


def _parameters(node) -> list[str]:
    from hydra.utils import get_class

    try:
        return list(inspect.signature(get_class(str(node["_target_"]))).parameters)
    except Exception:  # noqa: BLE001 - an unknown target is reported by instantiate
        return []


def _budgets(cfg, true_latency_ms: np.ndarray, budget_ms: float) -> list[float]:
    """Budgets to answer from the front: `budgets_ms`, or latency percentiles of the device's table."""
    budgets = cfg.get("budgets_ms")
    if budgets is None:
        if cfg.get("objective", "constrained") != "pareto":
            return [budget_ms]
        return [float(f"{v:.3g}") for v in np.nanpercentile(true_latency_ms, [10, 25, 50, 75, 90])]
    if isinstance(budgets, (int, float)):
        budgets = [budgets]
    try:
        return sorted(float(b) for b in budgets)
    except (TypeError, ValueError):
        raise HwnasError(f"budgets_ms must be a list of numbers, got {budgets!r}") from None


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
    if truth is not None and truth.get("optimum_accuracy") is not None:
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
