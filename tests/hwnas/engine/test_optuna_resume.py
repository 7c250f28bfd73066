"""Optuna strategies with their default in-memory study resume by replay: a kill between trials or
inside the sampler's ask gives the uninterrupted run's records, for TPE, NSGA-II and GP."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hwnas.config import conf_dir, instantiate
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace

MAX_EVALS = 30
SMALL = {"tpe": {"n_startup_trials": 5}, "nsga2": {"population_size": 8}, "gp": {"n_startup_trials": 5}}
KEYS = ("trial", "batch", "evaluations", "arch", "accuracy", "latency_ms", "violation_ms", "feasible", "new",
        "screened", "best_feasible_accuracy", "oracle_queries")


class Killed(Exception):
    pass


def search(name, space, budget, journal=None, history=None, kill_after_evals=None, kill_in_ask=None):
    node = OmegaConf.merge(OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml"), {"sampler": SMALL[name]})
    assert node.storage is None  # the default
    strategy = instantiate(node, "strategy", space=space, budget_ms=budget, seed=7)
    if kill_in_ask is not None:  # the process dies inside the n-th sampler call, after Optuna created the trial
        calls, ask_sampler = [0], strategy._ask_sampler

        def dying():
            calls[0] += 1
            handle = ask_sampler()
            if calls[0] == kill_in_ask:
                raise Killed
            return handle
        strategy._ask_sampler = dying

    def progress(done):
        if kill_after_evals is not None and done >= kill_after_evals:
            raise Killed

    return run_search(space, strategy, ToyOracle(space, "toy"), ToyEvaluator(space), budget, MAX_EVALS,
                      CostLedger(), journal=journal, history=history, progress=progress, screen=True)


@pytest.mark.parametrize("name", ["tpe", "nsga2", "gp"])
def test_a_killed_run_resumes_to_the_uninterrupted_records(tmp_path, name):
    space = ToySpace(4, 4)
    budget = space.budget_at(60)
    full = search(name, space, budget)
    assert sum(r["new"] and not r["screened"] for r in full.records) == MAX_EVALS
    for point, kill in enumerate([{"kill_after_evals": 4}, {"kill_after_evals": 17}, {"kill_in_ask": 3},
                                  {"kill_in_ask": 20}]):
        path = tmp_path / f"{point}.jsonl"
        with Journal(path) as journal, pytest.raises(Killed):
            search(name, space, budget, journal=journal, **kill)
        history = Journal(path).read()
        assert 0 < len(history) < len(full.records)
        with Journal(path) as journal:
            resumed = search(name, space, budget, journal=journal, history=history)
        assert resumed.resume_mode == "replayed"
        written = Journal(path).read()
        assert [[r[k] for k in KEYS] for r in written] == [[r[k] for k in KEYS] for r in full.records], kill
        assert resumed.best["arch"] == full.best["arch"]
