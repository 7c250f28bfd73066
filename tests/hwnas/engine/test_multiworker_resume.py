"""Two worker processes share one Optuna study (one SQLite file, `strategy.worker=` names); one is killed
with SIGKILL and resumed with `resume=true`. No finished trial of either worker may be lost or repeated:
each journal numbers its trials 0..n-1 once, the study holds each journaled trial once under its
worker's name with the journaled architecture and result, and no trial is left RUNNING."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from hwnas.strategies.optuna_strategy import TRIAL_ATTR, WORKER_ATTR

MAX_EVALS = 30
ARGS = ("search", "strategy=tpe", "device=pixel3", "budget_ms=6.5", f"max_evals={MAX_EVALS}", "progress=false")


def worker(name: str, seed: int, run_dir, storage: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hwnas.cli", *ARGS, f"seed={seed}", f"strategy.storage={storage}",
                             f"strategy.worker={name}", f"hydra.run.dir={run_dir}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))


def journal(run_dir) -> list[dict]:
    path = run_dir / "trials.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def lines(run_dir) -> int:
    path = run_dir / "trials.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_two_workers_one_study_kill_minus_9_and_resume_lose_and_repeat_nothing(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    dirs = {"w1": tmp_path / "w1", "w2": tmp_path / "w2"}
    first = worker("w1", 0, dirs["w1"], storage)
    second = worker("w2", 1, dirs["w2"], storage)
    deadline = time.time() + 60
    while lines(dirs["w1"]) < 12 and first.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    first.kill()  # SIGKILL: no handler, no flush, no cleanup; w2 goes on writing to the same study
    _, err = first.communicate()
    assert first.returncode == -9, f"worker w1 ended before it could be killed: {err[-2000:]}"
    killed_at = lines(dirs["w1"])
    assert 12 <= killed_at and not (dirs["w1"] / "summary.json").exists()

    resumed = worker("w1", 0, dirs["w1"], storage, "resume=true")
    for process in (resumed, second):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]

    summary = json.loads((dirs["w1"] / "summary.json").read_text())
    assert summary["resumed"] == {"trials": killed_at, "mode": "restored by the strategy"}
    study = optuna.load_study(study_name="hwnas", storage=storage)
    stored = study.get_trials(deepcopy=False)
    assert not [t.number for t in stored if t.state == TrialState.RUNNING]
    for name, run_dir in dirs.items():
        records = journal(run_dir)
        assert [r["trial"] for r in records] == list(range(len(records)))          # none lost, none twice
        evaluated = [r["arch"] for r in records if r["new"] and not r.get("screened")]
        assert len(evaluated) == MAX_EVALS == len(set(evaluated))                    # no evaluation repeated
        assert json.loads((run_dir / "summary.json").read_text())["cost"]["evaluations"] == MAX_EVALS
        visible = sorted((t for t in stored if t.user_attrs.get(WORKER_ATTR) == name
                          and t.user_attrs.get(TRIAL_ATTR, -1) >= 0), key=lambda t: t.user_attrs[TRIAL_ATTR])
        assert [t.user_attrs[TRIAL_ATTR] for t in visible] == list(range(len(records)))  # each once in the study
        names = list(visible[0].params)
        for trial, record in zip(visible, records):
            assert "|".join(str(trial.params[n]) for n in names) == _choices(record["arch"])
            if record["accuracy"] is None:  # screened over budget, never evaluated: FAIL (screened: fail)
                assert trial.state == TrialState.FAIL
            else:
                assert trial.state == TrialState.COMPLETE
                assert math.isclose(trial.value, record["accuracy"], abs_tol=1e-9)
                assert math.isclose(trial.constraints["latency_ms"], record["violation_ms"], abs_tol=1e-9)

    # hwnas report --study: per-worker counts as journaled, and the best feasible pick of both workers
    report = subprocess.run([sys.executable, "-m", "hwnas.cli", "report", "--study", storage, "--out",
                             str(tmp_path / "report")], capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr[-2000:]
    shared = json.loads((tmp_path / "report" / "study.json").read_text())
    for name, run_dir in dirs.items():
        assert shared["workers"][name]["trials"] == len(journal(run_dir))
        assert shared["workers"][name]["evaluated"] == MAX_EVALS
    feasible = [r for d in dirs.values() for r in journal(d) if r["accuracy"] is not None and r["violation_ms"] <= 0]
    assert shared["best"]["accuracy"] == max(r["accuracy"] for r in feasible)
    assert f"best feasible pick over all workers: {shared['best']['arch']}" in report.stdout


def _choices(arch: str) -> str:
    """The NB201 string form as the study's categorical parameters: each edge's operation by name."""
    from hwnas.search_spaces.nasbench201 import NasBench201

    space = NasBench201()
    return "|".join(d.choices[i] for d, i in zip(space.dimensions(), space.from_string(arch)))
