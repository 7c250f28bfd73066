"""Every strategy in conf/strategy/: the ask/tell contract, seeded determinism, the constraint rule,
and finding the known optimum of a small toy space."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from omegaconf import OmegaConf

from hwnas.config import conf_dir, group_choices, instantiate
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.core.constraint import constrained_key
from hwnas.core.strategy import Trial
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace

STRATEGIES = group_choices("strategy")
# toy-sized settings: a 256-architecture space needs a small population and a small batch
TOY_OPTIONS = {"evolution": {"population_size": 10, "tournament_size": 5},
               "reinforce": {"batch": 5, "learning_rate": 0.2},
               "nsga2": {"sampler": {"population_size": 10}},
               "gp": {"sampler": {"n_startup_trials": 4}}}


def make(name: str, space, budget_ms: float, seed: int = 0, **options):
    node = OmegaConf.merge(OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml"), TOY_OPTIONS.get(name, {}), options)
    return instantiate(node, "strategy", space=space, budget_ms=budget_ms, seed=seed)


def told(space: ToySpace, archs, budget_ms: float) -> list[Trial]:
    latency, accuracy = space.latency_ms(archs), space.accuracy(archs)
    return [Trial(tuple(a), float(acc), float(lat), float(lat - budget_ms)) for a, acc, lat in zip(archs, accuracy, latency)]


def test_every_yaml_is_tested():
    assert {"random", "evolution", "reinforce", "tpe", "gp", "nsga2"} <= set(STRATEGIES)


@pytest.mark.parametrize("name", STRATEGIES)
def test_contract_valid_asks_any_tells_and_seeded(name):
    space = ToySpace(3, 4)
    budget = space.budget_at(50)

    # GP's fitted path is exercised (slowly) by test_finds_the_toy_optimum; here it stays in its start-up design
    options = {"sampler": {"n_startup_trials": 20}} if name == "gp" else {}

    def session(seed: int) -> list:
        strategy = make(name, space, budget, seed, **options)
        asked = []
        for _ in range(3):
            archs = strategy.ask(2)
            assert len(archs) == 2
            for arch in archs:
                assert space.validate(arch) == arch
            strategy.tell(told(space, archs, budget))
            asked += archs
        strategy.tell(told(space, [(0, 0, 0)], budget))  # history it did not ask for is accepted
        return asked + strategy.ask(1)

    first = session(0)
    assert session(0) == first
    assert session(1) != first


FIND_EVALS = {"random": 256, "gp": 12}


@pytest.mark.parametrize("name", STRATEGIES)
def test_finds_the_toy_optimum(name):
    """Found in at least 3 of 4 seeds within 80 of 256 architectures (random: ~9 % chance of that)."""
    if name == "gp":  # GP fits are slow: one seed on a 27-architecture space
        space, seeds = ToySpace(3, 3), [0]
    else:
        space, seeds = ToySpace(4, 4), [0, 1, 2, 3]
    budget = space.budget_at(75)
    optimum, optimum_accuracy = space.optimum(budget)
    found = 0
    for seed in seeds:
        result = run_search(space, make(name, space, budget, seed), ToyOracle(space, "toy"), ToyEvaluator(space),
                            budget, FIND_EVALS.get(name, 80), CostLedger(), max_stale_trials=300, screen=True)
        found += result.best["arch"] == space.to_string(optimum)
        assert result.best["accuracy"] <= optimum_accuracy + 1e-9
    assert found >= min(3, len(seeds))


def test_unknown_sampler_lists_the_valid_ones():
    with pytest.raises(HwnasError, match=r"unknown Optuna sampler 'optuna.samplers.TPESamplr'.*TPESampler"):
        make("tpe", ToySpace(), 3.0, sampler={"_target_": "optuna.samplers.TPESamplr"})


def test_unknown_sampler_option_lists_the_valid_ones():
    with pytest.raises(HwnasError, match=r"unknown option n_startup.*valid options: .*n_startup_trials"):
        make("tpe", ToySpace(), 3.0, sampler={"n_startup": 5})


def test_a_negative_sampler_count_is_refused():
    """Optuna itself takes n_startup_trials=-1 without a word."""
    with pytest.raises(HwnasError, match=r"TPESampler: n_startup_trials must be >= 0, got -1"):
        make("tpe", ToySpace(), 3.0, sampler={"n_startup_trials": -1})


def test_unknown_strategy_option_lists_the_valid_ones():
    with pytest.raises(HwnasError, match=r"valid options: .*entropy_weight"):
        make("reinforce", ToySpace(), 3.0, entropy=0.1)
    with pytest.raises(HwnasError, match=r"unknown penalty 'harsh'; valid: soft, hard"):
        make("reinforce", ToySpace(), 3.0, penalty="harsh")


def test_optuna_gets_the_violation_as_its_own_constraint():
    space = ToySpace(3, 4)
    budget = space.budget_at(50)
    strategy = make("tpe", space, budget)
    archs = strategy.ask(4)
    trials = told(space, archs, budget)
    strategy.tell(trials)
    done = strategy.study.get_trials()
    assert [t.constraints["latency_ms"] for t in done] == pytest.approx([t.violation_ms for t in trials])
    assert [t.value for t in done] == pytest.approx([t.accuracy for t in trials])


def test_reinforce_reward_soft_and_hard():
    space = ToySpace(3, 4)
    soft = make("reinforce", space, 10.0, penalty="soft", latency_weight=-0.07)
    hard = make("reinforce", space, 10.0, penalty="hard", infeasible_reward=0.0)
    fast, slow = Trial((0, 0, 0), 90.0, 5.0, -5.0), Trial((1, 1, 1), 90.0, 20.0, 10.0)
    assert soft.reward(fast) == pytest.approx(0.9 * 0.5 ** -0.07)
    assert soft.reward(slow) == pytest.approx(0.9 * 2.0 ** -0.07)
    assert hard.reward(fast) == pytest.approx(0.9) and hard.reward(slow) == 0.0


def test_reinforce_policy_moves_towards_rewarded_choices():
    space = ToySpace(2, 3)
    strategy = make("reinforce", space, 100.0, penalty="hard", batch=4)
    for _ in range(30):
        archs = strategy.ask(4)
        strategy.tell([Trial(a, 100.0 if a[0] == 2 else 10.0, 1.0, -99.0) for a in archs])
    assert strategy.probabilities()[0, 2] > 0.8


def test_evolution_tournament_prefers_feasible_over_more_accurate():
    space = ToySpace(3, 4)
    strategy = make("evolution", space, 3.0, population_size=2, tournament_size=2, skip_seen=False)
    strategy.ask(2)
    strategy.tell([Trial((3, 3, 3), 99.0, 9.0, 6.0), Trial((0, 0, 0), 50.0, 1.0, -2.0)])
    children = strategy.ask(20)
    assert all(sum(c != 0 for c in child) == 1 for child in children)  # all mutants of the feasible parent


def test_pareto_objective_needs_a_multi_objective_strategy():
    space = ToySpace(3, 4)
    strategy = make("nsga2", space, 3.0, objective="pareto")
    archs = strategy.ask(3)
    strategy.tell(told(space, archs, 3.0))
    assert strategy.study.directions[1].name == "MINIMIZE"
    with pytest.raises(HwnasError, match="unknown objective 'front'"):
        make("nsga2", space, 3.0, objective="front")


@pytest.mark.parametrize("name", STRATEGIES)
def test_screened_trials_are_taken_without_warnings(name):
    """A screened trial (over budget by the oracle, accuracy NaN: never evaluated) is told cleanly."""
    space = ToySpace(3, 4)
    budget = space.budget_at(50)
    options = {"sampler": {"n_startup_trials": 4}} if name == "gp" else {}
    strategy = make(name, space, budget, 0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            archs = strategy.ask(3)
            trials = told(space, archs, budget)
            strategy.tell([t if t.feasible else Trial(t.arch, float("nan"), t.latency_ms, t.violation_ms)
                           for t in trials])
        for arch in strategy.ask(2):
            assert space.validate(arch) == arch


def test_reinforce_leaves_screened_trials_out_of_the_policy_gradient():
    space = ToySpace(3, 4)
    strategy = make("reinforce", space, 10.0, batch=2)
    before = strategy.probabilities().copy()
    strategy.tell([Trial((1, 1, 1), float("nan"), 20.0, 10.0), Trial((2, 2, 2), float("nan"), 30.0, 20.0)])
    np.testing.assert_array_equal(strategy.probabilities(), before)  # nothing to learn from: no update
    strategy.tell([Trial((1, 1, 1), 50.0, 5.0, -5.0), Trial((2, 2, 2), 90.0, 6.0, -4.0)])
    assert strategy.probabilities()[0, 2] > before[0, 2]


def test_evolution_ranks_a_screened_trial_below_every_evaluated_one():
    screened = Trial((1, 1, 1), float("nan"), 11.0, 1.0)
    evaluated = Trial((2, 2, 2), 10.0, 12.0, 2.0)
    assert constrained_key(evaluated) < constrained_key(screened)  # infeasible: the smaller violation wins
    assert constrained_key(Trial((3, 3, 3), 10.0, 11.0, 1.0)) > constrained_key(screened)


class _LastChoiceFree(ToySpace):
    """A toy space whose last dimension changes nothing but latency: archs equal elsewhere are equivalent."""

    def equivalents(self, arch):
        return [(*arch[:-1], c) for c in range(len(self.dimensions()[-1])) if c != arch[-1]]


def test_evolution_repair_asks_a_rejected_childs_equivalents_until_one_is_evaluated():
    space = _LastChoiceFree(3, 4)
    strategy = make("evolution", space, 3.0, population_size=2, tournament_size=2, repair=3)
    strategy.tell([Trial(a, 50.0, 1.0, -2.0) for a in strategy.ask(2)])   # the initial population
    child = strategy.ask(1)[0]
    strategy.tell([Trial(child, float("nan"), 9.0, 6.0)])                  # screened over budget
    first = strategy.ask(1)[0]
    assert first[:-1] == child[:-1] and first != child
    strategy.tell([Trial(first, float("nan"), 8.0, 5.0)])                  # also over budget: the repair goes on
    second = strategy.ask(1)[0]
    assert second[:-1] == child[:-1] and second not in (child, first)
    strategy.tell([Trial(second, 60.0, 2.0, -1.0)])                        # meets the budget: the repair ends
    assert strategy._repairs == []                                         # the last equivalent is not asked


def test_evolution_without_repair_drops_a_rejected_child():
    space = _LastChoiceFree(3, 4)
    strategy = make("evolution", space, 3.0, population_size=2, tournament_size=2, repair=0)
    strategy.tell([Trial(a, 50.0, 1.0, -2.0) for a in strategy.ask(2)])
    child = strategy.ask(1)[0]
    strategy.tell([Trial(child, float("nan"), 9.0, 6.0)])
    assert strategy._repairs == []


def test_evolution_repair_tries_at_most_repair_equivalents():
    space = _LastChoiceFree(3, 6)                                          # 5 equivalents per arch
    strategy = make("evolution", space, 3.0, population_size=2, tournament_size=2, repair=2)
    strategy.tell([Trial(a, 50.0, 1.0, -2.0) for a in strategy.ask(2)])
    child = strategy.ask(1)[0]
    strategy.tell([Trial(child, float("nan"), 9.0, 6.0)])
    assert len(strategy._repairs) == 2


@pytest.mark.parametrize("value", [True, -1, 3.5, "abc"])
def test_evolution_repair_is_a_count(value):
    with pytest.raises(HwnasError, match="repair >= 0"):
        make("evolution", ToySpace(3, 4), 3.0, repair=value)


def test_evolution_with_repair_resumes_exactly_on_a_space_with_equivalents():
    from hwnas.testing import strategy_factory
    from hwnas.testing.strategies import check_resume

    factory = strategy_factory(conf_dir() / "strategy" / "evolution.yaml",
                               {"population_size": 6, "tournament_size": 3, "repair": 3})
    space = _LastChoiceFree(4, 4)
    repaired = []

    def make(*args):
        strategy = factory(*args)
        plan = strategy._plan_repair
        strategy._plan_repair = lambda trial: (plan(trial), repaired.append(list(strategy._repairs)))
        return strategy

    check_resume(make, space)
    assert any(repaired)   # the runs did ask equivalents of rejected children


@pytest.mark.parametrize("key, value, match", [
    ("population_size", "abc", "evolution: population_size must be a whole number >= 1, got 'abc'"),
    ("tournament_size", 2.5, "evolution: tournament_size must be a whole number"),
    ("max_retries", -1, "evolution: max_retries must be a whole number >= 0, got -1"),
    ("skip_seen", "maybe", "evolution: skip_seen must be true or false, got 'maybe'"),
])
def test_evolution_settings_are_checked(key, value, match):
    with pytest.raises(HwnasError, match=match):
        make("evolution", ToySpace(3, 4), 3.0, **{"population_size": 4, "tournament_size": 2, key: value})


@pytest.mark.parametrize("key, value, match", [
    ("batch", "abc", "reinforce: batch must be a whole number >= 1, got 'abc'"),
    ("entropy_weight", "abc", "reinforce: entropy_weight must be a finite number, got 'abc'"),
    ("latency_weight", float("nan"), "reinforce: latency_weight must be a finite number"),
    ("baseline_decay", 1.0, "0 <= baseline_decay < 1"),
])
def test_reinforce_settings_are_checked(key, value, match):
    with pytest.raises(HwnasError, match=match):
        make("reinforce", ToySpace(3, 4), 3.0, **{key: value})
