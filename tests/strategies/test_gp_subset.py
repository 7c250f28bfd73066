"""The subset-of-data GP: which trials it keeps, that the GP is fitted on exactly those, that
`max_trials` at or above the history size is Optuna's GPSampler unchanged, and that bad values are refused."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import optuna.samplers._gp.sampler as optuna_gp_sampler
import pytest
from optuna.distributions import CategoricalDistribution
from omegaconf import OmegaConf
from optuna.study import StudyDirection

from hwnas.config import conf_dir, instantiate
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.strategies import gp_subset
from hwnas.strategies.gp_subset import SubsetGPSampler, subset
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace

MAXIMIZE, MINIMIZE = StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE
SPACE = {f"x{i}": CategoricalDistribution(list(range(4))) for i in range(3)}


def trial(number: int, values, violation: float = -1.0):
    made = optuna.trial.create_trial(params={k: number % 4 for k in SPACE}, distributions=SPACE, values=values,
                                     constraints={"latency_ms": violation})
    made.number = number
    return made


def test_keeps_the_best_feasible_half_then_the_most_recent():
    accuracy = [5.0, 9.0, 1.0, 8.0, 7.0, 2.0, 3.0, 4.0, 0.0, 6.0]
    violation = [-1, 2.0, -1, -1, -1, -1, -1, 0.5, -1, -1]   # 1 and 7 are over budget
    trials = [trial(i, [a], v) for i, (a, v) in enumerate(zip(accuracy, violation))]
    kept = [t.number for t in subset(trials, 6, [MAXIMIZE])]
    # best 3 feasible by accuracy: 3 (8.0), 4 (7.0), 9 (6.0); then the most recent others: 8, 7, 6
    assert kept == [3, 4, 6, 7, 8, 9]


def test_infeasible_trials_rank_by_violation_below_every_feasible_one():
    trials = [trial(0, [9.0], 3.0), trial(1, [8.0], 0.5), trial(2, [1.0], -2.0), trial(3, [0.0], 1.0)]
    assert [t.number for t in subset(trials, 2, [MAXIMIZE])] == [2, 3]   # the best (feasible) one, the last one
    ranked = np.lexsort(gp_subset._rank(trials, [MAXIMIZE])[::-1])
    assert ranked.tolist() == [2, 1, 3, 0]


def test_several_objectives_keep_the_pareto_front_first():
    # (accuracy up, latency down): 0, 1, 2 form the front; 3 is dominated by 1; 4 by 3
    points = [(9.0, 9.0), (7.0, 5.0), (3.0, 1.0), (6.0, 6.0), (5.0, 7.0), (1.0, 5.5)]
    trials = [trial(i, list(p)) for i, p in enumerate(points)]
    assert gp_subset._front_index(np.array([[-a, lat] for a, lat in points])).tolist() == [0, 0, 0, 1, 2, 1]
    assert [t.number for t in subset(trials, 3, [MAXIMIZE, MINIMIZE])] == [0, 4, 5]  # front 0's first, the 2 last


def fitted_sizes(monkeypatch) -> list[int]:
    sizes: list[int] = []
    lazy_gp_module = optuna_gp_sampler.gp   # what GPSampler calls through (it caches looked-up attributes)
    original = lazy_gp_module.fit_kernel_params

    def recording(*args, **kwargs):
        sizes.append(len(kwargs["X"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(lazy_gp_module, "fit_kernel_params", recording)
    return sizes


def study_with(sampler, n: int, seed: int = 0) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    rng = np.random.default_rng(seed)
    for i in range(n):
        params = {k: int(rng.integers(4)) for k in SPACE}
        latency = sum(params.values())
        study.add_trial(optuna.trial.create_trial(params=params, distributions=SPACE, values=[float(latency + rng.normal())],
                                                  constraints={"latency_ms": float(latency - 6)}))
    return study


def ask(study: optuna.Study) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return study.ask(SPACE).params


def test_the_gp_is_fitted_on_max_trials_only(monkeypatch):
    sizes = fitted_sizes(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = SubsetGPSampler(max_trials=12, seed=0, deterministic_objective=True)
    study = study_with(sampler, 30)
    ask(study)
    assert sizes == [12, 12]   # the objective's GP and the constraint's GP


def test_max_trials_above_the_history_is_optunas_gp(monkeypatch):
    sizes = fitted_sizes(monkeypatch)
    ours = ask(study_with(SubsetGPSampler(max_trials=30, seed=3), 25))
    stock = ask(study_with(optuna.samplers.GPSampler(seed=3), 25))
    unbounded = ask(study_with(SubsetGPSampler(max_trials=None, seed=3), 25))
    assert ours == stock == unbounded
    assert sizes == [25, 25] * 3


@pytest.mark.parametrize("bad", [1, 0, -5, 2.5, "many", True])
def test_bad_max_trials_is_refused(bad):
    with pytest.raises(HwnasError, match="max_trials must be an integer >= 2 or null"):
        SubsetGPSampler(max_trials=bad)


def test_a_small_subset_still_finds_the_toy_optimum():
    space = ToySpace(4, 4)   # 256 architectures: 40 random evaluations find the optimum ~20 % of the time
    budget = space.budget_at(75)
    optimum, _ = space.optimum(budget)
    node = OmegaConf.merge(OmegaConf.load(conf_dir() / "strategy" / "gp.yaml"),
                           {"sampler": {"max_trials": 12, "n_startup_trials": 6}})
    for seed in (0, 1):
        strategy = instantiate(node, "strategy", space=space, budget_ms=budget, seed=seed)
        fits: list[int] = []
        strategy._sampler.sample_relative = _counting(strategy._sampler.sample_relative, fits)
        result = run_search(space, strategy, ToyOracle(space, "toy"), ToyEvaluator(space), budget, 40, CostLedger(),
                            max_stale_trials=300, screen=True)
        assert result.best["arch"] == space.to_string(optimum)
        assert max(fits) > 12   # the subset was in use: more complete trials than the GP was fitted on


def _counting(sample_relative, counts: list[int]):
    def wrapped(study, trial, search_space):
        counts.append(len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))))
        return sample_relative(study, trial, search_space)
    return wrapped
