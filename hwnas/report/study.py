"""Summarise an Optuna study shared by several search workers: who evaluated what, the duplicates, the best pick.

Reads the user attributes hwnas writes on every finished trial (`STUDY_WORKER_ATTR`, `STUDY_RESULT_ATTR`),
so it needs no search space and works on any storage URL Optuna opens (SQLite, PostgreSQL, a journal file).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from hwnas.core.errors import HwnasError
from hwnas.core.records import STUDY_RESULT_ATTR, STUDY_WORKER_ATTR


def load_study_trials(storage: str, study_name: str | None = None) -> tuple[str, list[dict]]:
    """(study name, one dict per finished hwnas trial: worker, number and the recorded result)."""
    import optuna

    try:
        names = optuna.study.get_all_study_names(storage=storage)
    except Exception as exc:  # noqa: BLE001 - storage URLs fail in many driver-specific ways
        raise HwnasError(f"cannot open Optuna storage {storage!r}: {type(exc).__name__}: {exc}") from None
    if study_name is None:
        if len(names) != 1:
            raise HwnasError(f"{storage} holds {len(names)} studies ({', '.join(names) or 'none'}); "
                             "name one with --study-name")
        study_name = names[0]
    elif study_name not in names:
        raise HwnasError(f"no study {study_name!r} in {storage}; it holds: {', '.join(names) or 'none'}")
    study = optuna.load_study(study_name=study_name, storage=storage)
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                             optuna.trial.TrialState.FAIL)):
        result = trial.user_attrs.get(STUDY_RESULT_ATTR)
        if isinstance(result, dict) and "arch" in result:
            rows.append({"worker": str(trial.user_attrs.get(STUDY_WORKER_ATTR, "?")), "number": trial.number,
                         **result})
    return study_name, rows


def summarize_study(rows: list[dict]) -> dict:
    """Per-worker counts, architectures evaluated by more than one worker, and the best feasible pick of all."""
    per_worker: dict[str, Counter] = defaultdict(Counter)
    evaluators_of: dict[str, set] = defaultdict(set)
    for row in rows:
        evaluated = row.get("accuracy") is not None
        per_worker[row["worker"]].update(trials=1, evaluated=int(evaluated), feasible=int(bool(row.get("feasible"))))
        if evaluated:
            evaluators_of[row["arch"]].add(row["worker"])
    duplicated = {arch: sorted(ws) for arch, ws in evaluators_of.items() if len(ws) > 1}
    feasible = [r for r in rows if r.get("feasible") and r.get("accuracy") is not None
                and math.isfinite(float(r["accuracy"]))]
    best = max(feasible, key=lambda r: (float(r["accuracy"]), -float(r["latency_ms"]), -r["number"]), default=None)
    return {"trials": len(rows), "workers": {w: dict(c) for w, c in sorted(per_worker.items())},
            "distinct_evaluated": len(evaluators_of), "evaluated_by_several_workers": len(duplicated),
            "duplicates": duplicated, "best": best}


def format_study(name: str, summary: dict) -> str:
    """The summary as Markdown (also printed by `hwnas report --study`)."""
    lines = [f"# Optuna study {name}", "", f"{summary['trials']:,} finished trials, "
             f"{summary['distinct_evaluated']:,} distinct architectures evaluated, "
             f"{summary['evaluated_by_several_workers']:,} of them by more than one worker.", "",
             "| worker | trials | evaluated | feasible |", "|---|---|---|---|"]
    lines += [f"| {w} | {c.get('trials', 0):,} | {c.get('evaluated', 0):,} | {c.get('feasible', 0):,} |"
              for w, c in summary["workers"].items()]
    best = summary["best"]
    lines += ["", "best feasible pick over all workers: " + (
        f"{best['arch']} — accuracy {float(best['accuracy']):.3f}, latency {float(best['latency_ms']):.3f} ms "
        f"(worker {best['worker']}, trial {best['number']})" if best else "none (no feasible evaluated trial)")]
    return "\n".join(lines) + "\n"
