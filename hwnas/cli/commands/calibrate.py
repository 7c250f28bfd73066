"""Calibrate for this machine: measure the oracle's references, adapt, search, verify by measuring."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from hwnas.cli.commands.measure import choose_archs, settings_from
from hwnas.config import instantiate
from hwnas.core.space import SearchSpace
from hwnas.data import device_store
from hwnas.engine.loop import run_search
from hwnas.engine.session import Session
from hwnas.engine.target import MeterTarget
from hwnas.engine.runs import make_refiner
from hwnas.engine.verify import VerifyResult, VerifyStep, rank_candidates, verify

CONFIG_NAME = "calibrate"


def run(cfg, run_dir: Path, choices: dict[str, str]) -> dict:
    started = time.perf_counter()
    space: SearchSpace = instantiate(cfg.space, "search space")
    device = device_store.check_name(str(cfg.device))
    settings = settings_from(cfg, batch_size_key="measure_batch_size", store=(space.name, device))
    meter = instantiate(cfg.meter, "meter", space=space, device=device, **settings.to_dict(), reuse=bool(cfg.reuse))
    target = MeterTarget(space, device, meter, bootstrap=bool(cfg.bootstrap), samples=int(cfg.samples),
                         seed=int(cfg.seed), choose_archs=choose_archs)
    session = Session(cfg, run_dir=run_dir, choices=choices, target=target, check_budget=False)
    ledger, oracle = session.ledger, session.oracle
    references, measured_ms = session.adaptation or ([], None)
    adapt = {"references": len(references), "fresh": ledger.target_measurements["adapt"],
             "seconds": target.seconds.get("adapt", 0.0)}
    if references:
        adapt["predicted_ms"] = np.asarray(oracle.predict_ms(references), dtype=float).tolist()
        adapt["measured_ms"] = np.asarray(measured_ms, dtype=float).tolist()

    budget_ms = session.constraint.budget_ms
    strategy = session.strategy()
    refiner = make_refiner(session, [])   # refine=true (the default): measure and refit during the search
    try:
        result = run_search(session.space, strategy, oracle, session.evaluator, session.constraint,
                            int(cfg.max_evals), ledger, batch_size=int(cfg.batch_size),
                            max_stale_trials=int(cfg.max_stale_trials), screen=bool(cfg.screen), refiner=refiner)
    finally:
        strategy.close()
        if refiner is not None and refiner.journal is not None:
            refiner.journal.close()
    if refiner is not None:   # the refiner verified the pick (within refine_max_measurements)
        checked = VerifyResult(budget_ms, [VerifyStep(**step) for step in result.refine["verify_steps"]])
    else:
        with ledger.phase("verify"):
            checked = verify(space, rank_candidates(result.records), budget_ms,
                             lambda archs: session.measure("verify", archs), max_measurements=int(cfg.verify_max))

    summary = {
        "space": space.name, "device": device, "oracle": oracle.name,
        "strategy": choices.get("strategy"), "budget_ms": budget_ms, "seed": int(cfg.seed),
        "settings": meter.settings.to_dict(), "bootstrap": target.bootstrapped, "adapt": adapt,
        "search": {"evaluations": ledger.evaluations, "screened": ledger.screened, "stop_reason": result.stop_reason,
                   "pick": result.best["arch"] if result.best else None},
        "verify": checked.to_dict(),
        **({"refine": result.refine} if result.refine is not None else {}),
        "cost": ledger.to_dict(),
        "measurements_total": ledger.total_target_measurements,
        "command_seconds": time.perf_counter() - started,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    _print(summary, checked, run_dir)
    return summary


def _print(summary: dict, checked, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    cost = summary["cost"]["target_measurements"]
    table = Table(title=f"hwnas calibrate: {summary['space']} on {summary['device']} (oracle {summary['oracle']}, "
                        f"budget {summary['budget_ms']} ms)")
    for column in ("step", "architecture", "accuracy", "predicted ms", "measured ms", "within budget"):
        table.add_column(column, overflow="fold")
    for i, step in enumerate(checked.steps):
        table.add_row("pick" if i == 0 else f"next {i}", step.arch, f"{step.accuracy:.2f}",
                      f"{step.predicted_ms:.3f}", f"{step.measured_ms:.3f}",
                      "yes" if step.within_budget else "[red]no[/red]")
    console = Console()
    console.width = max(console.width, 160)
    console.print(table)
    chosen = checked.chosen
    refine = summary.get("refine")
    if chosen is None and refine and refine["verified"]:   # the pick was measured by a refit, not by verify
        chosen = VerifyStep(refine["pick"], float("nan"), float("nan"), refine["pick_measured_ms"], True)
    verdict = (f"verified: {chosen.arch} measured {chosen.measured_ms:.3f} ms <= {summary['budget_ms']} ms"
               if chosen else f"[red]no candidate measured within budget after {checked.measurements} "
                              "measurements[/red] (raise verify_max, refine_max_measurements or the budget)")
    console.print(verdict)
    phases = " + ".join(f"{n} {name}" for name, n in cost.items() if n)
    console.print(f"target measurements: {phases or '0'} = {summary['measurements_total']} "
                  f"({summary['cost']['measurement_seconds']:.1f} s measuring); "
                  f"{summary['search']['evaluations']} oracle evaluations; {summary['command_seconds']:.1f} s in all")
    console.print(f"run folder: {run_dir}")
