"""Every strategy in conf/strategy/ passes the strategy contract on the toy space; broken ones fail it."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.config import conf_dir, group_choices, group_file
from hwnas.core.strategy import Strategy
from hwnas.testing import STRATEGY_CHECKS, ToySpace, check_strategy, strategy_factory

STRATEGIES = group_choices("strategy")
# toy-sized settings: a 256-architecture space needs a small population and a short start-up design
TOY_OPTIONS = {"evolution": {"population_size": 10, "tournament_size": 5},
               "reinforce": {"batch": 5, "learning_rate": 0.2},
               "nsga2": {"sampler": {"population_size": 10}},
               "gp": {"sampler": {"n_startup_trials": 4}}}
SLOW = {"gp"}  # a GP fit per ask, and an SQLite study for the resume check


def _cases():
    for name in STRATEGIES:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield from (pytest.param(name, check, id=f"{name}-{check}", marks=marks) for check in STRATEGY_CHECKS)


def test_every_strategy_file_is_found():
    assert {"random", "evolution", "reinforce", "tpe", "gp", "nsga2"} <= set(STRATEGIES)
    assert {p.stem for p in (conf_dir() / "strategy").glob("*.yaml")} <= set(STRATEGIES)


@pytest.mark.parametrize("name, check", list(_cases()))
def test_strategy_contract(name, check):
    STRATEGY_CHECKS[check](strategy_factory(group_file("strategy", name), TOY_OPTIONS.get(name)), ToySpace(4, 4))


# ---------------------------------------------------------------------------- the contract can fail
class Sampler(Strategy):
    """Seeded uniform samples; the broken variants below change one thing."""

    def __init__(self, space, budget_ms, seed=0):
        super().__init__(space, budget_ms, seed)
        self.rng = np.random.default_rng(seed)

    def ask(self, n=1):
        return self.space.sample(self.rng, n)

    def tell(self, trials):
        pass


class ShortAsk(Sampler):
    def ask(self, n=1):
        return super().ask(n)[: max(n - 1, 1)]


class NanIntolerant(Sampler):
    def tell(self, trials):
        self.total = sum(int(t.accuracy) for t in trials)


class Unseeded(Sampler):
    def ask(self, n=1):
        return self.space.sample(np.random.default_rng(), n)


class Slowest(Sampler):
    """One of the 8 slowest archs of the toy space: never feasible."""

    def ask(self, n=1):
        archs = self.space.all_archs()
        slowest = archs[np.argsort(self.space.latency_ms(archs))[-8:]]
        return [tuple(int(v) for v in slowest[i]) for i in self.rng.integers(8, size=n)]


class FalseResume(Sampler):
    def resume(self, history):
        return True  # claims to have restored itself, but starts from scratch


def _make(cls):
    return lambda space, budget_ms, seed, run_dir: cls(space, budget_ms, seed)


def test_a_seeded_sampler_passes():
    check_strategy(_make(Sampler))


@pytest.mark.parametrize("cls, check, message", [
    (ShortAsk, "ask", r"ask\(3\) gave"),
    (NanIntolerant, "tell_any", "cannot convert float NaN to integer"),
    (Unseeded, "seeded", "two runs with seed 0 propose differently"),
    (Slowest, "finds_feasible", "the best is infeasible"),
    (FalseResume, "resume", r"the resumed run \(restored by the strategy, \d+ journaled trials\) differs"),
])
def test_a_broken_strategy_fails(cls, check, message):
    with pytest.raises(AssertionError, match=f"strategy contract '{check}': .*{message}"):
        check_strategy(_make(cls))
