"""Latency-constrained search: best accuracy with latency_ms <= budget_ms on a device."""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import OmegaConf

from hwnas.config import instantiate
from hwnas.journal import Journal
from hwnas.pipeline import build_components
from hwnas.results import best_summary, ground_truth, write_run
from hwnas.search import run_search

CONFIG_NAME = "search"


def run(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    started = time.perf_counter()
    parts = build_components(cfg)
    budget_ms = float(cfg.budget_ms)
    strategy = instantiate(cfg.strategy, "strategy", space=parts.space, budget_ms=budget_ms, seed=int(cfg.seed))
    journal = Journal(run_dir / "trials.jsonl")
    with _progress(bool(cfg.progress), int(cfg.max_evals)) as advance:
        result = run_search(parts.space, strategy, parts.oracle, parts.evaluator, budget_ms, int(cfg.max_evals),
                            parts.ledger, batch_size=int(cfg.batch_size), true_latency_ms=parts.true_latency_ms,
                            journal=journal, progress=advance, max_stale_trials=int(cfg.max_stale_trials))
    journal.close()

    summary = {
        "space": parts.space.name,
        "device": str(cfg.device),
        "oracle": parts.oracle.name,
        "strategy": HydraConfig.get().runtime.choices.get("strategy"),
        "evaluator": parts.evaluator.metric,
        "evaluator_is_proxy": parts.evaluator.is_proxy,
        "budget_ms": budget_ms,
        "seed": int(cfg.seed),
        "stop_reason": result.stop_reason,
        "best": best_summary(parts.space, result.best, budget_ms) if result.best else None,
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
        table.add_row(label, f"{best['accuracy']:.3f}  [{summary['evaluator']}]")
        table.add_row("latency", f"{best['latency_ms']:.3f} ms ({best['latency_source']}); "
                                 f"oracle said {best['predicted_latency_ms']:.3f} ms")
        table.add_row("budget", f"{summary['budget_ms']} ms -> "
                                + ("feasible" if best["feasible"] else "[red]NOT feasible[/red]"))
    if truth is not None and truth.get("optimum_accuracy") is not None:
        table.add_row("true optimum", f"{truth['optimum_accuracy']:.3f} {truth['optimum_arch']} "
                                      f"({truth['optimum_latency_ms']:.3f} ms)")
        regret = truth.get("regret")
        table.add_row("regret", f"{regret:.3f}" if regret is not None else "n/a (no feasible architecture found)")
    table.add_row("cost", f"{cost['evaluations']} evaluations, {cost['trials']} trials, "
                          f"{cost['oracle_queries']} oracle queries, "
                          f"{cost['target_measurements_total']} target measurements, "
                          f"{cost['wall_seconds']['search']:.2f} s search wall time "
                          f"({cost['command_seconds']:.2f} s in all)")
    table.add_row("stopped", summary["stop_reason"])
    table.add_row("run folder", str(run_dir))
    console = Console()
    console.width = max(console.width, 160)  # architecture strings stay on one line
    console.print(table)
