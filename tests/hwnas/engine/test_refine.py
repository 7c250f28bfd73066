"""Measure-and-refit (`refine=true`): the cap and the ledger's phases, corrected latencies told to every
strategy (no duplicate entries), a verified pick within budget, identical resume, one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from hwnas.config import conf_dir, instantiate
from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError
from hwnas.core.strategy import Trial
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.engine.refine import Refiner, RefineSettings
from hwnas.engine.session import Session
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace

STRATEGIES = ("evolution", "random", "reinforce", "tpe", "nsga2", "gp")


class ScaledToy(ToyOracle):
    """The toy latency times 0.7 (so its picks break the budget) until it adapts: then the scale is fitted
    on the measurements (least squares through the origin)."""

    def __init__(self, space, device="toy"):
        super().__init__(space, device)
        self.scale, self.adapted_on = 0.7, []

    def predict_ms(self, archs):
        return self.scale * self.space.latency_ms(archs)

    def reference_archs(self):
        return [tuple(int(v) for v in a) for a in self.space.table_archs()[:4]]

    def adapt(self, archs, latency_ms):
        base = self.space.latency_ms(archs)
        self.scale = float(np.dot(base, latency_ms) / np.dot(base, base))
        self.adapted_on.append(len(archs))


class Interrupted(Exception):
    pass


def strategy_of(name, space, budget, storage=None, seed=3):
    node = OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml")
    extra = {"storage": storage} if "storage" in node else {}
    if name == "evolution":
        extra.update(population_size=10, tournament_size=5)
    if name == "gp":
        extra.update(sampler_settings={"n_startup_trials": 5})
    return instantiate(OmegaConf.merge(node, extra), "strategy", space=space, budget_ms=budget, seed=seed)


def run(name="evolution", max_evals=60, settings=RefineSettings(10, 3, 20), journal_dir=None, history=None,
        events=None, stop_after=None, storage=None, strategy=None):
    space = ToySpace(4, 4)
    budget = space.budget_at(40)
    oracle, ledger = ScaledToy(space), CostLedger()
    references = oracle.reference_archs()

    def measure(phase, archs):
        ledger.add_measurements(phase, len(archs))
        return space.latency_ms(archs)

    truth = measure("adapt", references)
    oracle.adapt(references, truth)
    oracle.scale = 0.7   # as if the references told it nothing: the refits must correct it
    refine_journal = Journal(journal_dir / "refine.jsonl") if journal_dir is not None else None
    refiner = Refiner(settings, space, oracle, Constraint(budget), ledger, measure, (references, truth),
                      journal=refine_journal, history=events)
    strategy = strategy or strategy_of(name, space, budget, storage)

    def progress(done):
        if stop_after is not None and done >= stop_after:
            raise Interrupted

    trials_journal = Journal(journal_dir / "trials.jsonl") if journal_dir is not None else None
    try:
        result = run_search(space, strategy, oracle, ToyEvaluator(space), budget, max_evals, ledger,
                            journal=trials_journal, history=history, progress=progress, refiner=refiner)
    finally:
        for journal in (trials_journal, refine_journal):
            if journal is not None:
                journal.close()
    return result, ledger, space, budget, oracle, strategy


def test_cap_and_ledger_phases():
    result, ledger, space, budget, oracle, _ = run(max_evals=80, settings=RefineSettings(10, 3, 20))
    counted = ledger.target_measurements
    assert counted["adapt"] == 4 and counted["refine"] > 0
    assert counted["adapt"] + counted["refine"] + counted["verify"] <= 20
    assert counted["adapt"] + counted["refine"] <= 20 - 3            # refine keeps `batch` for verify
    assert counted["refine"] % 3 == 1 or counted["refine"] % 3 == 0   # whole batches, the last one cut by the cap
    assert result.refine["measurements"] == {p: counted[p] for p in ("adapt", "refine", "verify")}
    assert ledger.refits == result.refine["refits"] >= 1 and ledger.refit_queries > 0
    assert oracle.adapted_on[-1] == 4 + counted["refine"]            # adapt sees every measurement so far


def test_final_pick_is_measured_within_budget():
    result, ledger, space, budget, _, _ = run(max_evals=60)
    assert result.refine["verified"]
    assert result.refine["pick_measured_ms"] <= budget
    assert space.latency_ms([space.from_string(result.best["arch"])])[0] <= budget
    assert result.best["measured"] and result.best["feasible"]


class StubbornToy(ScaledToy):
    """An oracle whose refit leaves its bias as it is (the inner loop of a few-shot predictor that underfits)."""

    def adapt(self, archs, latency_ms):
        self.adapted_on.append(len(archs))


def test_the_search_asks_the_oracle_corrected_by_its_measured_discrepancy():
    """The refits learn the oracle's 0.7 bias from the measurements: the search's predictions become the truth."""
    space = ToySpace(4, 4)
    budget = space.budget_at(40)
    oracle, ledger = StubbornToy(space), CostLedger()
    references = oracle.reference_archs()
    refiner = Refiner(RefineSettings(10, 3, 20), space, oracle, Constraint(budget), ledger,
                      lambda phase, archs: space.latency_ms(archs), (references, space.latency_ms(references)))
    result = run_search(space, strategy_of("evolution", space, budget), oracle, ToyEvaluator(space), budget, 60,
                        ledger, refiner=refiner)
    archs = [tuple(int(v) for v in a) for a in space.table_archs()]
    assert ledger.refits >= 1 and oracle.scale == 0.7
    np.testing.assert_allclose(refiner.predictor.predict_ms(archs), space.latency_ms(archs), rtol=1e-6)
    unmeasured = [r for r in result.records if not r.get("screened") and space.from_string(r["arch"])
                  not in refiner.measured and r["batch"] > 30]
    assert unmeasured and all(abs(r["latency_ms"] / space.latency_ms([space.from_string(r["arch"])])[0] - 1) < 1e-6
                              for r in unmeasured)


def test_without_refine_the_biased_oracle_breaks_the_budget():
    """The control: the same biased oracle without refits picks an architecture over budget."""
    space = ToySpace(4, 4)
    budget = space.budget_at(40)
    result = run_search(space, strategy_of("evolution", space, budget), ScaledToy(space), ToyEvaluator(space),
                        budget, 60, CostLedger())
    assert space.latency_ms([space.from_string(result.best["arch"])])[0] > budget


class Recorder:
    """Wraps a strategy and records what it is told and revised (the wrapped one still learns)."""

    def __init__(self, inner):
        self.inner, self.revised = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def revise(self, trials):
        self.revised.append(list(trials))
        self.inner.revise(trials)


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_is_told_corrected_latencies(name):
    space = ToySpace(4, 4)
    recorder = Recorder(strategy_of(name, space, space.budget_at(40)))
    result, ledger, space, budget, oracle, _ = run(name, max_evals=40, strategy=recorder)
    assert recorder.revised, "no refit happened"
    last = recorder.revised[-1]
    assert len({t.arch for t in last}) == len(last)                   # one entry per architecture
    truth = space.latency_ms([t.arch for t in last])
    # after the refit the scale is exact: every corrected latency is the true one (measured or predicted)
    assert np.allclose([t.latency_ms for t in last], truth)
    assert all(t.violation_ms == pytest.approx(t.latency_ms - budget) for t in last)
    inner = recorder.inner
    if name == "evolution":
        population = list(inner._population)
        assert len({t.arch for t in population}) == len(population) <= 10
        assert np.allclose([t.latency_ms for t in population], space.latency_ms([t.arch for t in population]))
    if name in ("tpe", "nsga2", "gp"):
        complete = [t for t in inner.study.get_trials() if t.state.name == "COMPLETE"]
        view = inner._revised_sampler()._view(inner.study)._get_trials()
        assert len(view) == len(inner.study.get_trials())               # nothing added to the study
        shown = {inner.arch_of_params(t.params): t.constraints["latency_ms"] for t in view
                 if t.state.name == "COMPLETE"}
        revised = {t.arch: t.violation_ms for t in last}
        assert complete and all(shown[a] == pytest.approx(v) for a, v in revised.items() if a in shown)


def test_reinforce_revises_only_its_pending_rewards():
    space = ToySpace(4, 4)
    strategy = strategy_of("reinforce", space, space.budget_at(40))
    arch = strategy.ask(1)[0]
    strategy.tell([Trial(arch, 50.0, 1.0, -5.0)])
    before = strategy._buffer[-1][1]
    strategy.revise([Trial(arch, 50.0, 100.0, 90.0)])
    assert strategy._buffer[-1][1] != before and len(strategy._buffer) == 1


@pytest.mark.parametrize("name", ["evolution", "tpe"])
def test_resume_after_a_kill_is_identical(tmp_path, name):
    whole, ledger, *_ = run(name, max_evals=60, storage=None)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    with pytest.raises(Interrupted):
        run(name, max_evals=60, journal_dir=tmp_path, stop_after=35, storage=storage)
    events = Journal(tmp_path / "refine.jsonl").read()
    assert events and all(e["phase"] == "refine" for e in events)   # the refine measurements are journaled
    history = Journal(tmp_path / "trials.jsonl").read()
    resumed, resumed_ledger, *_ = run(name, max_evals=60, journal_dir=tmp_path, history=history, events=events,
                                      storage=storage)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_s"} for r in rs]  # noqa: E731
    assert strip(resumed.records) == strip(whole.records)
    assert resumed.best["arch"] == whole.best["arch"]
    assert resumed.refine["measurements"] == whole.refine["measurements"]
    assert resumed_ledger.target_measurements == ledger.target_measurements
    written = Journal(tmp_path / "refine.jsonl").read()
    assert len([e for e in written if e["phase"] == "refine"]) == whole.refine["refits"]  # none measured twice


def test_refusals_are_one_line_before_any_work():
    with pytest.raises(HwnasError, match="does not adapt") as info:
        Session.compose("search", ["oracle=lut", "device=pixel2", "budget_ms=14", "refine=true"])
    assert "\n" not in str(info.value)
    with pytest.raises(HwnasError, match="objective=constrained"):
        Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "refine=true",
                                   "objective=pareto"])
    session = Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "refine=true",
                                         "refine_max_measurements=10"])
    with pytest.raises(HwnasError, match="refine_max_measurements=10 leaves nothing") as info:
        session.oracle
    assert "\n" not in str(info.value) and session.ledger.total_target_measurements == 0
    with pytest.raises(HwnasError, match="refine_every"):
        RefineSettings(0, 3, 20)


def test_a_session_search_with_refine_on_the_real_data():
    summary = Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "max_evals=60",
                                         "refine=true", "refine_every=20", "refine_batch=4", "progress=false"]).search()
    cost, refine = summary["cost"], summary["refine"]
    assert cost["target_measurements"]["refine"] > 0 and cost["target_measurements_total"] <= 40
    assert refine["verified"] and summary["best"]["feasible"] and summary["best"]["latency_ms"] <= 14
    assert refine["refits"] == cost["refits"] >= 1


def test_a_killed_session_resumes_from_its_run_folder(tmp_path):
    """The real path: journal + refine.jsonl in the run folder, `resume=true` (oneproxy on pixel2's table)."""
    overrides = ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "max_evals=60", "refine=true",
                 "refine_every=20", "refine_batch=4", "progress=false"]
    whole = Session.compose("search", overrides, run_dir=tmp_path / "whole").search()

    def kill(done):
        if done >= 45:
            raise Interrupted

    with pytest.raises(Interrupted):
        Session.compose("search", overrides, run_dir=tmp_path / "run").search(progress=kill)
    assert len(Journal(tmp_path / "run" / "refine.jsonl").read()) == 2          # refits at 20 and 40
    resumed = Session.compose("search", overrides + ["resume=true"], run_dir=tmp_path / "run").search()
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_s"} for r in rs]  # noqa: E731
    assert strip(resumed["records"]) == strip(whole["records"])
    assert resumed["best"] == whole["best"] and resumed["cost"]["target_measurements"] == \
        whole["cost"]["target_measurements"]
    assert len([e for e in Journal(tmp_path / "run" / "refine.jsonl").read() if e["phase"] == "refine"]) == 3


class Uncertain(ToyOracle):
    """Set predictions with a 10 % predictive std (an oracle with `predict_std_ms`), for the verify step."""

    def __init__(self, space, predicted):
        super().__init__(space)
        self.predicted = predicted

    def predict_ms(self, archs):
        return np.array([self.predicted[tuple(int(v) for v in a)] for a in archs])

    def predict_std_ms(self, archs):
        return 0.1 * self.predict_ms(archs)

    def adapt(self, archs, latency_ms):
        pass


@pytest.mark.parametrize("cap, order, pick", [(1, "C", "C"), (3, "CAB", "B")])
def test_verify_measures_by_expected_improvement_and_picks_the_best_measured_within_budget(cap, order, pick):
    """P(within budget) x accuracy gain over the incumbent: the likely-feasible C first (a sure pick), then the
    better but riskier A and B; never an unverified pick. Accuracy order would measure A first: over budget."""
    space = ToySpace(4, 4)
    a, b, c, d = (tuple(int(v) for v in x) for x in space.all_archs()[:4])
    #          name: (accuracy, predicted ms, true ms); budget 10 ms
    table = {a: ("A", 85.0, 10.5, 11.0), b: ("B", 80.0, 10.3, 9.8), c: ("C", 70.0, 8.0, 8.0), d: ("D", 50.0, 5.0, 5.0)}
    ledger = CostLedger()

    def measure(phase, archs):
        ledger.add_measurements(phase, len(archs))
        return np.array([table[x][3] for x in archs])

    oracle = Uncertain(space, {x: v[2] for x, v in table.items()})
    refiner = Refiner(RefineSettings(10, 1, cap), space, oracle, Constraint(10.0, confidence=0.2), ledger, measure,
                      None)
    loop = type("Loop", (), {"cache": {x: (v[1], v[2], v[2] - 10.0) for x, v in table.items()}})()
    summary = refiner.finish(loop)
    assert "".join(table[space.canonical(space.from_string(s["arch"]))][0] for s in summary["verify_steps"]) == order
    assert summary["verified"] and table[summary["pick_arch"]][0] == pick and summary["pick_measured_ms"] <= 10.0
    assert ledger.target_measurements["verify"] == len(order) <= cap


def test_an_optimistic_confidence_is_refine_only_and_refines_default_to_it():
    with pytest.raises(HwnasError, match="needs refine=true") as info:
        Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "constraint_confidence=0.2"])
    assert "\n" not in str(info.value)
    assert Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14",
                                      "refine=true"]).constraint.confidence == 0.2
    assert Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14"]).constraint.confidence == 0.5
    assert Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "refine=true",
                                      "constraint_confidence=0.5"]).constraint.confidence == 0.5
