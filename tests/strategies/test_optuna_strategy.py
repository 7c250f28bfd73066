"""The Optuna strategy's own rules: repeat proposals never reach the loop (closed as FAIL, replaced by an
unseen neighbour), screened trials (accuracy NaN) are taken without warnings, sampler settings are
checked, and a kill inside an ask resumes as the uninterrupted run would have continued."""

from __future__ import annotations

import math
import warnings

import pytest
from omegaconf import OmegaConf
from optuna.trial import TrialState

from hwnas.config import conf_dir, instantiate
from hwnas.core.errors import HwnasError
from hwnas.core.strategy import Trial
from hwnas.strategies.optuna_strategy import TRIAL_ATTR
from hwnas.strategies.optuna_support import derived_seed, reseed
from hwnas.testing.toys import ToySpace


def make(name: str, space, budget_ms: float, seed: int = 0, **options):
    node = OmegaConf.merge(OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml"), options)
    return instantiate(node, "strategy", space=space, budget_ms=budget_ms, seed=seed)


def told(space: ToySpace, archs, budget_ms: float, screen: bool = False) -> list[Trial]:
    out = []
    for arch, acc, lat in zip(archs, space.accuracy(archs), space.latency_ms(archs)):
        over = screen and lat > budget_ms
        out.append(Trial(tuple(arch), float("nan") if over else float(acc), float(lat), float(lat - budget_ms)))
    return out


@pytest.mark.parametrize("name", ["tpe", "nsga2"])
def test_every_ask_is_unseen_until_the_space_is_exhausted(name):
    space = ToySpace(3, 3)  # 27 architectures: a converged sampler proposes known ones often
    budget = space.budget_at(60)
    strategy = make(name, space, budget, sampler={"n_startup_trials": 5} if name == "tpe" else {"population_size": 6})
    asked = []
    for _ in range(27):
        archs = strategy.ask(1)
        strategy.tell(told(space, archs, budget))
        asked += archs
    assert len(set(asked)) == 27
    trials = strategy.study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(complete) == 27 and len({tuple(t.params.values()) for t in complete}) == 27  # no duplicate point
    assert failed and all(TRIAL_ATTR not in t.user_attrs for t in failed)  # the sampler did repeat; never shown


def test_repeat_fallback_none_lets_the_loop_see_repeats():
    space = ToySpace(2, 3)
    budget = space.budget_at(60)
    strategy = make("tpe", space, budget, repeat_fallback="none", sampler={"n_startup_trials": 3})
    asked = []
    for _ in range(30):
        archs = strategy.ask(1)
        strategy.tell(told(space, archs, budget))
        asked += archs
    assert len(set(asked)) < len(asked)
    assert not [t for t in strategy.study.get_trials(deepcopy=False) if t.state == TrialState.FAIL]


@pytest.mark.parametrize("screened", ["impute", "fail"])
def test_screened_trials_are_taken_without_warnings(screened):
    space = ToySpace(4, 4)
    budget = space.budget_at(30)
    strategy = make("tpe", space, budget, screened=screened)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna warns when told NaN as a value
        trials = []
        for _ in range(25):
            archs = strategy.ask(1)
            trials += told(space, archs, budget, screen=True)
            strategy.tell(trials[-1:])
        slowest = tuple(int(i) for i in space.latency_table_ms.argmax(axis=1))
        strategy.tell(told(space, [slowest], budget, screen=True))  # screened history it did not ask for
    stored = strategy.study.get_trials(deepcopy=False)
    visible = sorted((t for t in stored if t.user_attrs.get(TRIAL_ATTR, -1) >= 0), key=lambda t: t.user_attrs[TRIAL_ATTR])
    screened_out = [t for t, trial in zip(visible, trials) if math.isnan(trial.accuracy)]
    assert screened_out and len(screened_out) < len(trials)
    worst = min(t.accuracy for t in trials if not math.isnan(t.accuracy))
    for stored_trial, trial in zip(visible, trials):
        if not math.isnan(trial.accuracy):
            assert stored_trial.state == TrialState.COMPLETE and stored_trial.value == pytest.approx(trial.accuracy)
        elif screened == "fail":
            assert stored_trial.state == TrialState.FAIL
        else:  # the worst accuracy told so far (so never below the final worst), and the violation
            assert stored_trial.state == TrialState.COMPLETE and stored_trial.value >= worst
            assert stored_trial.constraints["latency_ms"] == pytest.approx(trial.violation_ms)
    added = visible[len(trials)]
    assert added.params == {d.name: d.choices[i] for d, i in zip(space.dimensions(), slowest)}  # choices by name
    assert added.state == TrialState.FAIL if screened == "fail" else added.value == pytest.approx(worst)


def test_imputed_value_is_the_worst_accuracy_told_before():
    space = ToySpace(3, 4)
    strategy = make("tpe", space, 3.0, screened="impute")
    strategy.ask(3)
    strategy.tell([Trial((0, 0, 0), 70.0, 2.0, -1.0), Trial((1, 1, 1), 60.0, 2.5, -0.5),
                   Trial((2, 2, 2), float("nan"), 9.0, 6.0)])
    last = strategy.study.get_trials(deepcopy=False)[-1]
    assert last.state == TrialState.COMPLETE and last.value == 60.0 and last.constraints["latency_ms"] == 6.0


def test_nearest_imputes_the_mean_accuracy_of_the_closest_evaluated_architectures():
    space = ToySpace(3, 4)
    strategy = make("gp", space, 3.0, screened="nearest")
    strategy.ask(1)
    strategy.tell([Trial((3, 3, 3), float("nan"), 9.0, 6.0)])   # nothing evaluated to believe yet: FAIL
    strategy.ask(4)
    strategy.tell([Trial((0, 0, 0), 70.0, 2.0, -1.0), Trial((2, 2, 1), 60.0, 2.5, -0.5),
                   Trial((2, 1, 2), 50.0, 2.5, -0.5), Trial((2, 2, 2), float("nan"), 9.0, 6.0)])
    trials = strategy.study.get_trials(deepcopy=False)
    assert trials[0].state == TrialState.FAIL
    # (2,2,2) is one choice from (2,2,1) and (2,1,2), three from (0,0,0): believed (60 + 50) / 2
    assert trials[-1].state == TrialState.COMPLETE and trials[-1].value == 55.0
    assert trials[-1].constraints["latency_ms"] == 6.0


def test_gp_is_not_asked_again_until_a_trial_completes():
    space = ToySpace(4, 4)
    budget = space.budget_at(50)
    strategy = make("gp", space, budget, seed=2, sampler={"n_startup_trials": 4})
    assert strategy.reask_unchanged is False   # the shipped gp.yaml
    calls = []
    ask_sampler = strategy._ask_sampler
    strategy._ask_sampler = lambda: calls.append(1) or ask_sampler()
    archs = strategy.ask(8)
    strategy.tell(told(space, archs, budget))           # 8 complete trials: the GP models them
    calls.clear()
    asked = []
    for _ in range(12):                                   # every proposal screened: the data never changes
        arch = strategy.ask(1)
        asked += arch
        strategy.tell([Trial(arch[0], float("nan"), budget + 1.0, 1.0)])
    assert len(set(asked)) == 12                          # still 12 distinct proposals
    assert len(calls) <= 3                                # a new one, its repeat; then neighbours without the GP
    arch = strategy.ask(1)
    strategy.tell(told(space, arch, budget))              # a trial completes: the next ask asks the GP again
    before = len(calls)
    strategy.ask(1)
    assert len(calls) == before + 1


def test_sampler_settings_are_checked_and_applied():
    space = ToySpace(3, 3)
    strategy = make("gp", space, 3.0, sampler_settings={"n_preliminary_samples": 256, "n_local_search": 2})
    assert strategy._sampler._n_preliminary_samples == 256 and strategy._sampler._n_local_search == 2
    with pytest.raises(HwnasError, match=r"GPSampler: unknown setting n_samples; valid settings: .*n_preliminary_samples"):
        make("gp", space, 3.0, sampler_settings={"n_samples": 5})
    with pytest.raises(HwnasError, match="n_local_search must be a positive integer"):
        make("gp", space, 3.0, sampler_settings={"n_local_search": 0})


def test_bad_repeat_and_screen_options_are_refused():
    with pytest.raises(HwnasError, match=r"unknown repeat_fallback 'nearest'; valid: neighbour, random, none"):
        make("tpe", ToySpace(), 3.0, repeat_fallback="nearest")
    with pytest.raises(HwnasError, match=r"unknown screened 'drop'; valid: fail, impute, nearest"):
        make("tpe", ToySpace(), 3.0, screened="drop")
    with pytest.raises(HwnasError, match=r"reask_unchanged must be true or false, got 'maybe'"):
        make("gp", ToySpace(), 3.0, reask_unchanged="maybe")


def test_a_kill_inside_an_ask_resumes_with_the_proposal_it_had(tmp_path):
    space = ToySpace(4, 4)
    budget = space.budget_at(60)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    killed = make("tpe", space, budget, seed=5, storage=storage)
    history = []
    for _ in range(5):
        archs = killed.ask(1)
        history += told(space, archs, budget)
        killed.tell(history[-1:])
    reseed(killed._sampler, derived_seed(killed.seed, killed._sampled))  # the next ask, cut after the sampler
    orphan = killed._ask_sampler()
    proposal = killed.arch_of_params(orphan.params)
    assert proposal not in {t.arch for t in history}
    del killed, orphan

    resumed = make("tpe", space, budget, seed=5, storage=storage)
    assert resumed.resume(history)
    uninterrupted = make("tpe", space, budget, seed=5)
    for _ in range(5):
        uninterrupted.tell(told(space, uninterrupted.ask(1), budget))
    assert resumed.ask(1) == [proposal] == uninterrupted.ask(1)
    resumed.tell(told(space, [proposal], budget))
    assert resumed.ask(2) == uninterrupted.ask(2)
    assert not [t for t in resumed.study.get_trials(deepcopy=False)
                if t.state == TrialState.RUNNING and TRIAL_ATTR not in t.user_attrs]


def test_every_finished_trial_carries_its_architecture_and_latency_for_a_study_browser(tmp_path):
    """optuna-dashboard shows user attributes: the arch string, latency, violation and feasibility."""
    from hwnas.engine.session import Session

    session = Session.compose("search", ["strategy=tpe", "device=raspi4", "budget_ms=20", "max_evals=25",
                                         "progress=false", f"strategy.storage=sqlite:///{tmp_path / 'optuna.db'}"],
                            run_dir=tmp_path)
    session.search()
    import optuna

    study = optuna.load_study(study_name="hwnas", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    finished = [t for t in study.get_trials() if t.state.is_finished() and t.user_attrs.get("hwnas_trial", -1) >= 0]
    assert finished and all("hwnas" in t.user_attrs for t in finished)
    for t in finished:
        shown = t.user_attrs["hwnas"]
        assert shown["feasible"] == (shown["violation_ms"] <= 0)
        assert shown["violation_ms"] == pytest.approx(shown["latency_ms"] - 20)
        assert session.space.from_string(shown["arch"]) == tuple(d.choices.index(t.params[d.name])
                                                                   for d in session.space.dimensions())
        assert all(t.params[d.name] in d.choices for d in session.space.dimensions())  # dashboard shows names


def test_workers_of_a_shared_study_never_propose_what_another_worker_asked(tmp_path):
    space = ToySpace(4, 4)  # 256 architectures
    budget = space.budget_at(50)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    first = make("tpe", space, budget, seed=0, storage=storage, worker="w1")
    second = make("tpe", space, budget, seed=0, storage=storage, worker="w2")  # same seed: same proposals alone
    asked_by_first = first.ask(12)
    first.tell(told(space, asked_by_first, budget))
    in_flight = first.ask(3)  # asked by w1, not yet told
    asked_by_second = []
    for _ in range(5):
        archs = second.ask(4)
        second.tell(told(space, archs, budget))
        asked_by_second += archs
    assert not set(asked_by_second) & set(asked_by_first + in_flight)
    alone = make("tpe", space, budget, seed=0)  # in memory: no other worker, nothing excluded
    assert alone.ask(12) == asked_by_first
