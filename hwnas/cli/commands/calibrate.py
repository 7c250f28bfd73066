"""Calibrate for this machine: measure the oracle's references, adapt, search, verify by measuring."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from hwnas.data import device_store, devices
from hwnas.cli.commands.measure import choose_archs, settings_from
from hwnas.config import instantiate
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.core.oracle import LatencyOracle
from hwnas.engine.loop import run_search
from hwnas.core.space import SearchSpace
from hwnas.core.subspace import TableSubspace
from hwnas.engine.verify import rank_candidates, verify

CONFIG_NAME = "calibrate"


def run(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    started = time.perf_counter()
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    space: SearchSpace = instantiate(cfg.space, "search space")
    device = device_store.check_name(str(cfg.device))
    budget_ms = float(cfg.budget_ms)
    settings = settings_from(cfg, batch_size_key="measure_batch_size")
    meter = instantiate(cfg.meter, "meter", space=space, device=device, **settings.to_dict(), reuse=bool(cfg.reuse))
    ledger = CostLedger()

    with ledger.phase("setup"):
        oracle, bootstrap = _oracle_for(cfg, space, device, meter)
    ledger.add_setup(oracle.setup_cost())
    ledger.add_measurements("setup", bootstrap["fresh"], bootstrap["seconds"])

    searched = space
    coverage = oracle.coverage()
    if coverage is not None:
        searched = TableSubspace(space, coverage)
    references = oracle.reference_archs()
    adapt = {"references": len(references), "fresh": 0, "seconds": 0.0}
    if references:
        with ledger.phase("adapt"):
            before, seconds = meter.fresh_measurements, meter.measurement_seconds
            measured = meter.predict_ms(references)
            adapt.update(fresh=meter.fresh_measurements - before, seconds=meter.measurement_seconds - seconds)
            ledger.add_measurements("adapt", adapt["fresh"], adapt["seconds"])
            _refuse_failures(meter)
            oracle.adapt(references, measured)
            adapt["predicted_ms"] = np.asarray(oracle.predict_ms(references), dtype=float).tolist()
            adapt["measured_ms"] = measured.tolist()

    evaluator = instantiate(cfg.evaluator, "evaluator", space=searched)
    strategy = instantiate(cfg.strategy, "strategy", space=searched, budget_ms=budget_ms, seed=int(cfg.seed))
    result = run_search(searched, strategy, oracle, evaluator, budget_ms, int(cfg.max_evals), ledger,
                        batch_size=int(cfg.batch_size), max_stale_trials=int(cfg.max_stale_trials))

    with ledger.phase("verify"):
        before, seconds = meter.fresh_measurements, meter.measurement_seconds
        checked = verify(space, rank_candidates(result.records), budget_ms, meter.predict_ms,
                         max_measurements=int(cfg.verify_max))
        ledger.add_measurements("verify", meter.fresh_measurements - before, meter.measurement_seconds - seconds)

    summary = {
        "space": space.name, "device": device, "oracle": oracle.name,
        "strategy": HydraConfig.get().runtime.choices.get("strategy"), "budget_ms": budget_ms, "seed": int(cfg.seed),
        "settings": meter.settings.to_dict(), "bootstrap": bootstrap, "adapt": adapt,
        "search": {"evaluations": ledger.evaluations, "stop_reason": result.stop_reason,
                   "pick": result.best["arch"] if result.best else None},
        "verify": checked.to_dict(),
        "cost": ledger.to_dict(),
        "measurements_total": ledger.total_target_measurements,
        "command_seconds": time.perf_counter() - started,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    _print(summary, checked, run_dir)
    return summary


def _oracle_for(cfg, space: SearchSpace, device: str, meter: LatencyOracle) -> tuple[LatencyOracle, dict]:
    """The oracle for the device; one that needs device data first (OneProxy draws its probes from the
    device's measured rows) gets `samples` seeded measurements when `bootstrap` is on."""
    bootstrap = {"fresh": 0, "seconds": 0.0, "archs": 0}
    try:
        return instantiate(cfg.oracle, "oracle", space=space, device=device), bootstrap
    except HwnasError as exc:
        stored = devices.require_device(space.name, device).n_archs if _known(space, device) else 0
        if not cfg.bootstrap or stored >= int(cfg.samples):
            raise
        first = str(exc)
    exclude = np.flatnonzero(np.isfinite(devices.latency_ms(space.name, device))) if _known(space, device) else ()
    archs = choose_archs(space, int(cfg.samples) - stored, int(cfg.seed), exclude_rows=exclude)
    before, seconds = meter.fresh_measurements, meter.measurement_seconds
    meter.measure(archs)
    _refuse_failures(meter)
    bootstrap.update(fresh=meter.fresh_measurements - before, seconds=meter.measurement_seconds - seconds,
                     archs=len(archs), reason=first)
    try:
        return instantiate(cfg.oracle, "oracle", space=space, device=device), bootstrap
    except HwnasError as exc:
        raise HwnasError(f"{exc} (after measuring {len(archs)} bootstrap architectures)") from None


def _known(space: SearchSpace, device: str) -> bool:
    try:
        devices.require_device(space.name, device)
        return True
    except HwnasError:
        return False


def _refuse_failures(meter: LatencyOracle) -> None:
    if meter.failures:
        bad = meter.failures[0]
        raise HwnasError(f"could not measure {meter.space.to_string(bad.arch)} for calibration: {bad.status}")


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
    verdict = (f"verified: {chosen.arch} measured {chosen.measured_ms:.3f} ms <= {summary['budget_ms']} ms"
               if chosen else f"[red]no candidate measured within budget after {checked.measurements} "
                              "measurements[/red] (raise verify_max or the budget)")
    console.print(verdict)
    console.print(f"target measurements: {cost['setup']} bootstrap + {cost['adapt']} adaptation + "
                  f"{cost['verify']} verification = {summary['measurements_total']} "
                  f"({summary['cost']['measurement_seconds']:.1f} s measuring); "
                  f"{summary['search']['evaluations']} oracle evaluations; {summary['command_seconds']:.1f} s in all")
    console.print(f"run folder: {run_dir}")
