"""The loop counts an oracle's own target measurements (a measuring oracle) in the search phase."""

from __future__ import annotations

import numpy as np

from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.predictors.lut import LookupTable
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy
from hwnas.strategies.random_search import RandomSearch


class CountingTable(LookupTable):
    """A table that pretends each new query was measured on the device (0.5 s each)."""

    def __init__(self, space, device):
        super().__init__(space, device)
        self.taken = 0

    def predict_ms(self, archs):
        self.taken += len(archs)
        return super().predict_ms(archs)

    def measurements_taken(self):
        return self.taken, 0.5 * self.taken


def test_measuring_oracle_fills_the_search_phase(nb201):
    ledger = CostLedger()
    oracle = CountingTable(nb201, "fpga")
    run_search(nb201, RandomSearch(nb201, 5.0, seed=0), oracle, NasBench201Accuracy(nb201), 5.0, 40, ledger, screen=False)
    assert ledger.target_measurements["search"] == oracle.taken == ledger.evaluations == 40
    assert np.isclose(ledger.measurement_seconds, 20.0)


def test_a_table_takes_no_measurements_during_search(nb201):
    ledger = CostLedger()
    run_search(nb201, RandomSearch(nb201, 5.0, seed=0), LookupTable(nb201, "fpga"), NasBench201Accuracy(nb201),
               5.0, 40, ledger, screen=False)
    assert ledger.target_measurements["search"] == 0
