"""The search loop: distinct evaluations, the journal, and resuming an interrupted run in-process
(replay for seeded strategies, the Optuna study for Optuna-backed ones)."""

from __future__ import annotations


import numpy as np
import pytest
from omegaconf import OmegaConf

from hwnas.config import conf_dir, instantiate
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search

from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace


class Interrupted(Exception):
    pass


def search(name, space, budget, journal=None, history=None, stop_after=None, storage=None, max_evals=40,
           batch_size=1, seed=3):
    node = OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml")
    extra = {"storage": storage} if "storage" in node else {}
    if name == "evolution":
        extra.update(population_size=10, tournament_size=5)
    strategy = instantiate(OmegaConf.merge(node, extra), "strategy", space=space, budget_ms=budget, seed=seed)

    def progress(done):
        if stop_after is not None and done >= stop_after:
            raise Interrupted

    return run_search(space, strategy, ToyOracle(space, "toy"), ToyEvaluator(space), budget, max_evals,
                      CostLedger(), journal=journal, history=history, progress=progress, batch_size=batch_size, screen=False)


def test_max_evals_counts_distinct_architectures_and_repeats_are_told():
    space = ToySpace(3, 3)
    result = search("random", space, space.budget_at(50), max_evals=20)
    new = [r for r in result.records if r["new"]]
    assert len(new) == 20 and len({r["arch"] for r in new}) == 20
    assert len(result.records) >= 20
    assert [r["evaluations"] for r in new] == list(range(1, 21))


@pytest.mark.parametrize("name, batch_size", [("evolution", 1), ("reinforce", 3), ("tpe", 1), ("tpe", 2)])
def test_resume_equals_an_uninterrupted_run(tmp_path, name, batch_size):
    space = ToySpace(4, 4)
    budget = space.budget_at(60)
    full = search(name, space, budget, batch_size=batch_size, storage=None)
    journal_path = tmp_path / "trials.jsonl"
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    with Journal(journal_path) as journal, pytest.raises(Interrupted):
        search(name, space, budget, journal=journal, stop_after=15, batch_size=batch_size, storage=storage)
    history = Journal(journal_path).read()
    assert 15 <= sum(r["new"] for r in history) < 40
    with Journal(journal_path) as journal:
        resumed = search(name, space, budget, journal=journal, history=history, batch_size=batch_size,
                         storage=storage)
    assert resumed.resumed_trials == len(history)
    assert [r["arch"] for r in resumed.records] == [r["arch"] for r in full.records]
    written = Journal(journal_path).read()
    assert [r["trial"] for r in written] == list(range(len(full.records)))  # nothing lost, nothing twice
    assert sum(r["new"] for r in written) == 40
    assert resumed.best["arch"] == full.best["arch"]


def test_a_partial_batch_is_completed_not_repeated(tmp_path):
    space = ToySpace(4, 4)
    budget = space.budget_at(60)
    full = search("reinforce", space, budget, batch_size=4)
    journal_path = tmp_path / "trials.jsonl"
    with Journal(journal_path) as journal, pytest.raises(Interrupted):
        search("reinforce", space, budget, journal=journal, stop_after=10, batch_size=4)
    lines = journal_path.read_text().splitlines(keepends=True)
    journal_path.write_text("".join(lines[:-2]) + lines[-2][:25])  # a kill in the middle of a batch's write
    with pytest.warns(UserWarning):
        history = Journal(journal_path).read()
    with Journal(journal_path) as journal, pytest.warns(UserWarning, match="cut off"):
        resumed = search("reinforce", space, budget, journal=journal, history=history, batch_size=4)
    assert [r["arch"] for r in resumed.records] == [r["arch"] for r in full.records]
    assert [r["trial"] for r in Journal(journal_path).read()] == list(range(len(full.records)))


def test_a_strategy_that_does_not_reproduce_is_told_its_history(tmp_path):
    space = ToySpace(4, 4)
    budget = space.budget_at(60)
    journal_path = tmp_path / "trials.jsonl"
    with Journal(journal_path) as journal, pytest.raises(Interrupted):
        search("evolution", space, budget, journal=journal, stop_after=12, seed=1)
    history = Journal(journal_path).read()
    with Journal(journal_path) as journal, pytest.warns(UserWarning, match="did not reproduce"):
        resumed = search("evolution", space, budget, journal=journal, history=history, seed=2)
    written = Journal(journal_path).read()
    assert [r["arch"] for r in written[:len(history)]] == [r["arch"] for r in history]
    assert sum(r["new"] for r in written) == 40 and len({r["arch"] for r in written if r["new"]}) == 40
    assert np.isfinite(resumed.best["accuracy"])
