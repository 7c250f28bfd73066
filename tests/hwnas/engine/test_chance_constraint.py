"""The chance constraint in the loop: screening, the told violation, the journal and resume all use
mean + z * std; an oracle without uncertainty is refused before any work."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.engine.session import Session
from hwnas.strategies.random_search import RandomSearch
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace


class UncertainToy(ToyOracle):
    """The toy oracle with a predictive spread of 20 % of its prediction."""

    def predict_std_ms(self, archs):
        return 0.2 * np.asarray(self.predict_ms(archs), dtype=float)


def run(constraint, journal=None, history=None, max_evals=40):
    space = ToySpace()
    return run_search(space, RandomSearch(space, constraint.budget_ms, seed=1), UncertainToy(space, "toy"),
                      ToyEvaluator(space), constraint, max_evals, CostLedger(), journal=journal, history=history)


def budget() -> float:
    space = ToySpace()
    return float(np.median(UncertainToy(space, "toy").predict_ms(space.table_archs())))


def test_screening_and_feasibility_use_the_margin():
    plain, chance = run(Constraint(budget())), run(Constraint(budget(), confidence=0.95))
    for record in chance.records:
        margin = 1.6449 * record["latency_std_ms"]
        assert record["violation_ms"] == pytest.approx(record["latency_ms"] + margin - budget(), abs=1e-3)
        assert record["feasible"] == (record["violation_ms"] <= 0)
        assert record["screened"] == (not record["feasible"])          # screened by the same rule
    feasible_latency = [r["latency_ms"] for r in chance.records if r["feasible"]]
    assert max(feasible_latency) < budget() / (1 + 0.2 * 1.6449) + 1e-9
    assert chance.best["latency_ms"] <= plain.best["latency_ms"] + 1e-12 or plain.best["latency_ms"] > \
        budget() / (1 + 0.2 * 1.6449)
    assert "latency_std_ms" not in plain.records[0]                    # the plain rule records what it did


def test_resume_keeps_the_chance_constraint(tmp_path):
    constraint = Constraint(budget(), confidence=0.9)
    whole = run(constraint)
    with Journal(tmp_path / "j.jsonl") as journal:
        run(constraint, journal=journal, max_evals=15)
    history = Journal(tmp_path / "j.jsonl").read()
    resumed = run(constraint, history=history)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "wall_s"} for r in rs]  # noqa: E731
    assert strip(resumed.records) == strip(whole.records)


def test_an_oracle_without_uncertainty_is_refused_before_the_search():
    with pytest.raises(HwnasError, match="no predict_std_ms") as info:
        Session.compose("search", ["oracle=measured", "device=local-cpu", "budget_ms=20",
                                    "constraint_confidence=0.9"]).oracle
    assert "\n" not in str(info.value)


def test_oneproxy_gives_a_spread_and_a_chance_constrained_search_runs():
    session = Session.compose("search", ["oracle=oneproxy", "device=pixel2", "budget_ms=14", "max_evals=30",
                                         "constraint_confidence=0.9", "progress=false"])
    archs = session.space.table_archs()[:100]
    std = session.oracle.predict_std_ms(archs)
    assert std.shape == (100,) and (std > 0).all()
    summary = session.search()
    assert all(r["violation_ms"] > r["latency_ms"] - 14 for r in summary["records"])
