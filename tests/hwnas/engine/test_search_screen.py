"""Screening: the loop skips the evaluator for architectures the oracle puts over budget."""

from __future__ import annotations


from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.predictors.lut import LookupTable
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy
from hwnas.strategies.random_search import RandomSearch

BUDGET_MS = 5.0  # about the 35th latency percentile on fpga


class CountingAccuracy(NasBench201Accuracy):
    def __init__(self, space):
        super().__init__(space)
        self.asked: list = []

    def accuracy(self, archs):
        self.asked.extend(archs)
        return super().accuracy(archs)


def search(nb201, screen: bool):
    evaluator, ledger = CountingAccuracy(nb201), CostLedger()
    result = run_search(nb201, RandomSearch(nb201, BUDGET_MS, seed=0), LookupTable(nb201, "fpga"), evaluator,
                        BUDGET_MS, 60, ledger, batch_size=7, screen=screen)
    return result, evaluator, ledger


def test_screened_architectures_are_never_evaluated(nb201):
    result, evaluator, ledger = search(nb201, screen=True)
    latency = dict(zip(map(tuple, evaluator.asked), LookupTable(nb201, "fpga").predict_ms(evaluator.asked)))
    assert len(evaluator.asked) == ledger.evaluations == ledger.accuracy_queries == 60
    assert max(latency.values()) <= BUDGET_MS
    screened = [r for r in result.records if r["screened"] and r["new"]]
    assert len(screened) == ledger.screened > 0
    assert all(r["accuracy"] is None and r["latency_ms"] > BUDGET_MS for r in screened)
    assert ledger.oracle_queries == ledger.evaluations + ledger.screened
    assert result.best["feasible"] and result.best["accuracy"] is not None


def test_without_screening_every_new_architecture_is_evaluated(nb201):
    result, evaluator, ledger = search(nb201, screen=False)
    assert len(evaluator.asked) == ledger.evaluations == 60 and ledger.screened == 0
    assert not any(r["screened"] for r in result.records)
    assert any(r["latency_ms"] > BUDGET_MS for r in result.records)
    # screening finds at least as good a feasible architecture with the same evaluations (same seed)
    screened_best = search(nb201, screen=True)[0].best["accuracy"]
    assert screened_best >= max(r["accuracy"] for r in result.records if r["feasible"]) - 1e-9
