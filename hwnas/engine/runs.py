"""What a Session runs: the configured search (journal, resume, summary, run folder) and a table prediction."""

from __future__ import annotations

import inspect
import json
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from hwnas.config import group_choices, group_file, instantiate, option_defaults
from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError
from hwnas.core.space import SearchSpace
from hwnas.core.strategy import Strategy, check_objective
from hwnas.core.subspace import TableSubspace
from hwnas.engine import resume
from hwnas.engine.journal import Journal
from hwnas.engine.loop import run_search
from hwnas.engine.pareto import front_of_records
from hwnas.engine.refine import JOURNAL as REFINE_JOURNAL, Refiner
from hwnas.engine.results import best_summary, ground_truth, write_run

if TYPE_CHECKING:
    from hwnas.engine.session import Progress, Session


def make_strategy(cfg, space: SearchSpace, constraint: Constraint, objective: str, name: str | None,
                  **extra) -> Strategy:
    """The configured strategy; `objective=pareto` only for strategies that take an `objective`; a strategy
    that takes a `workdir` (durable state of its own) gets the run folder when there is one."""
    if objective == "pareto":
        if "objective" not in constructor_parameters(cfg.strategy):
            able = [c for c in group_choices("strategy")
                    if "objective" in constructor_parameters(OmegaConf.load(group_file("strategy", c)))]
            raise HwnasError(f"strategy {name} optimises one objective; objective=pareto needs one of: "
                             f"{', '.join(able)}")
        extra["objective"] = objective
    return instantiate(cfg.strategy, "strategy", space=space, budget_ms=constraint.budget_ms, seed=int(cfg.seed),
                       **extra)


def constructor_parameters(node) -> list[str]:
    from hydra.utils import get_class

    try:
        return list(inspect.signature(get_class(str(node["_target_"]))).parameters)
    except Exception:  # noqa: BLE001 - an unknown target is reported by instantiate
        return []


def run_configured_search(session: "Session", progress: "Progress | None" = None) -> dict:
    """Search as configured; journaled to (and resumable from) `session.run_dir` when it has one."""
    cfg, started = session.cfg, time.perf_counter()
    objective = check_objective(str(cfg.objective))
    run_dir = session.run_dir
    history = (resume.prepare(run_dir, OmegaConf.to_container(cfg, resolve=True), bool(cfg.resume),
                              option_defaults("search")) if run_dir is not None else [])
    budgets = _budgets(cfg, session.true_latency_ms, session.constraint.budget_ms)  # checked before any work
    space, oracle, evaluator, constraint = session.space, session.oracle, session.evaluator, session.constraint
    strategy = session.strategy(objective)
    note = getattr(strategy, "note", lambda _: None)(int(cfg.max_evals))
    journal = Journal(run_dir / resume.JOURNAL) if run_dir is not None else None
    refiner = make_refiner(session, history)
    try:
        result = run_search(space, strategy, oracle, evaluator, constraint, int(cfg.max_evals), session.ledger,
                            batch_size=int(cfg.batch_size), true_latency_ms=session.true_latency_ms,
                            journal=journal, progress=progress, max_stale_trials=int(cfg.max_stale_trials),
                            history=history, screen=bool(cfg.screen) and objective == "constrained",
                            refiner=refiner)
    finally:
        strategy.close()
        for open_journal in (journal, refiner.journal if refiner is not None else None):
            if open_journal is not None:
                open_journal.close()
    budget_ms = constraint.budget_ms
    summary = {
        "space": space.name, "device": session.device, "oracle": oracle.name,
        "strategy": session.choices.get("strategy"), "objective": objective,
        "evaluator": evaluator.metric, "evaluator_is_proxy": evaluator.is_proxy,
        "budget_ms": budget_ms, **({"budget_quantile": float(cfg.budget_quantile)}
                                   if cfg.get("budget_quantile") is not None else {}),
        "seed": int(cfg.seed), "stop_reason": result.stop_reason, **({"notes": [note]} if note else {}),
        "resumed": {"trials": result.resumed_trials, "mode": result.resume_mode} if result.resumed_trials else None,
        "best": best_summary(space, result.best, budget_ms) if result.best else None,
        **({"refine": result.refine} if result.refine is not None else {}),
        "pareto": front_of_records(result.records, budgets),
        "cost": session.ledger.to_dict(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    truth = ground_truth(space, evaluator, session.true_latency_ms, budget_ms)
    if truth is not None and truth.get("partial"):
        summary["ground_truth"] = truth
    elif truth is not None:
        best = summary["best"]
        found = best["accuracy"] if best and best["feasible"] else None
        truth["regret"] = (truth["optimum_accuracy"] - found
                           if found is not None and truth["optimum_accuracy"] is not None else None)
        summary["ground_truth"] = truth
    if run_dir is not None:
        write_run(run_dir, result.records, summary)
    summary["cost"]["command_seconds"] = time.perf_counter() - started
    summary["records"] = result.records
    return summary


def make_refiner(session: "Session", history: list[dict]) -> Refiner | None:
    """The session's measure-and-refit state (`refine=true`), with its journal beside the run's; a resumed
    run reads back the measurements the interrupted one journaled."""
    if session.refine is None:
        return None
    path = session.run_dir / REFINE_JOURNAL if session.run_dir is not None else None
    events = Journal(path).read() if path is not None and history else []
    return Refiner(session.refine, session.space, session.oracle, session.constraint, session.ledger,
                   session.measure, session.adaptation, journal=Journal(path) if path is not None else None,
                   history=events)


def _budgets(cfg, true_latency_ms: np.ndarray, budget_ms: float) -> list[float]:
    """Budgets to answer from the front: `budgets_ms`, or latency percentiles of the device's table."""
    budgets = cfg.get("budgets_ms")
    if budgets is None:
        if cfg.objective != "pareto":
            return [budget_ms]
        return [float(f"{v:.3g}") for v in np.nanpercentile(true_latency_ms, [10, 25, 50, 75, 90])]
    if isinstance(budgets, (int, float)):
        budgets = [budgets]
    try:
        return sorted(float(b) for b in budgets)
    except (TypeError, ValueError):
        raise HwnasError(f"budgets_ms must be a list of numbers, got {budgets!r}") from None


def predict_table(session: "Session") -> dict:
    """The oracle's prediction for every tabled architecture of the searched space as a table (index, arch,
    predicted_ms, measured: one of the adaptation measurements; data_form where it differs), and how it ranks them."""
    from scipy.stats import spearmanr

    space, oracle = session.space, session.oracle
    rows = space.rows if isinstance(space, TableSubspace) else np.arange(len(session.true_latency_ms))
    archs = np.asarray(space.table_archs())[rows]
    start = time.perf_counter()
    predicted = np.asarray(oracle.predict_ms(archs), dtype=float)
    predict_s = time.perf_counter() - start
    references = oracle.reference_archs()
    measured_rows = set(np.asarray(space.table_index(references), dtype=int).tolist()) if references else set()
    truth = session.true_latency_ms[rows]
    known = np.isfinite(truth)
    rho = spearmanr(predicted[known], truth[known]).statistic if known.sum() > 2 else float("nan")
    arch_tuples = [tuple(int(v) for v in a) for a in archs]
    frame = pd.DataFrame({"index": rows, "arch": [space.to_string(a) for a in arch_tuples],
                          "predicted_ms": predicted, "measured": [int(r) in measured_rows for r in rows]})
    if arch_tuples and space.to_data_form(arch_tuples[0]) != frame["arch"].iloc[0]:
        frame["data_form"] = [json.dumps(space.to_data_form(a), separators=(",", ":")) for a in arch_tuples]
    return {"frame": frame, "measured_rows": measured_rows, "predict_s": predict_s, "spearman": float(rho),
            "n_known": int(known.sum())}
