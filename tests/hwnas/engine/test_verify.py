"""The verify step: candidates in the search's order, measured until one is within budget."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.engine.verify import Candidate, rank_candidates, table_measure, verify


def record(arch: str, accuracy: float, latency_ms: float, budget_ms: float = 10.0) -> dict:
    return {"arch": arch, "accuracy": accuracy, "latency_ms": latency_ms, "violation_ms": latency_ms - budget_ms}


def test_candidates_follow_the_constrained_rule_once_each():
    records = [record("a", 90, 12), record("b", 95, 9), record("c", 93, 8), record("b", 95, 9), record("d", 99, 11)]
    ranked = rank_candidates(records)
    assert [c.arch for c in ranked] == ["b", "c", "d", "a"]  # feasible by accuracy, then smaller violation


@pytest.fixture
def truth(nb201):
    """Three NB201 archs and their true raspi4 latency."""
    latency = devices.latency_ms("nasbench201", "raspi4")
    rows = [100, 200, 300]
    return [nb201.to_string(a) for a in nb201.from_index(rows)], latency[rows], latency


def test_an_over_budget_pick_is_replaced_by_the_next_measured_within(nb201, truth):
    archs, true_ms, table = truth
    order = np.argsort(-true_ms)  # slowest first: the oracle ranked them wrongly
    candidates = [Candidate(archs[i], 90.0 - k, 1.0) for k, i in enumerate(order)]
    budget = float(np.sort(true_ms)[1])  # only the two fastest meet it
    ledger = CostLedger()
    result = verify(nb201, candidates, budget, table_measure(nb201, table), max_measurements=5, ledger=ledger)
    assert [s.within_budget for s in result.steps] == [False, True]
    assert result.chosen.arch == archs[order[1]] and result.chosen.measured_ms <= budget
    assert result.first.measured_ms > budget
    assert ledger.target_measurements["verify"] == 2


def test_the_measurement_cap_is_kept_and_nothing_unverified_is_returned(nb201, truth):
    archs, true_ms, table = truth
    candidates = [Candidate(a, 90.0, 1.0) for a in archs]
    result = verify(nb201, candidates, float(true_ms.min()) * 0.5, table_measure(nb201, table), max_measurements=2)
    assert result.measurements == 2 and result.chosen is None
    assert result.to_dict()["verified"] is False


def test_bad_input(nb201, truth):
    archs, _, table = truth
    with pytest.raises(HwnasError, match="max_measurements >= 1"):
        verify(nb201, [Candidate(archs[0], 1, 1)], 1.0, table_measure(nb201, table), max_measurements=0)
    partial = devices.latency_ms("nasbench201", "rice_raspi4")
    missing = int(np.flatnonzero(np.isnan(partial))[0])
    arch = nb201.to_string(nb201.from_index([missing])[0])
    with pytest.raises(HwnasError, match="no measurement of"):
        verify(nb201, [Candidate(arch, 1, 1)], 1.0, table_measure(nb201, partial))
