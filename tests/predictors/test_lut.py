"""The exact lookup-table oracle."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.search_spaces import _help_data
from hwnas.core.errors import HwnasError
from hwnas.predictors.lut import LookupTable


def test_predictions_are_the_table(nb201, rng):
    oracle = LookupTable(nb201, "fpga")
    archs = nb201.sample(rng, 100)
    expected = _help_data.nb201_help_latency()["fpga"].to_numpy()[nb201.index(archs)]
    np.testing.assert_array_equal(oracle.predict_ms(archs), expected)
    assert oracle.coverage() is None
    assert oracle.setup_cost().target_measurements == 15_625


def test_whole_space_in_one_batch(nb201):
    oracle = LookupTable(nb201, "pixel3")
    predicted = oracle.predict_ms(nb201.table_archs())
    np.testing.assert_array_equal(predicted, _help_data.nb201_help_latency()["pixel3"].to_numpy())


def test_partial_table_refuses_uncovered_archs(nb201):
    oracle = LookupTable(nb201, "rice_fpga")
    covered = oracle.coverage()
    assert len(covered) == 1_999
    inside = nb201.from_index(covered[:5])
    np.testing.assert_allclose(oracle.predict_ms(inside),
                               _help_data.nb201_oneproxy_latency().loc[covered[:5], "rice_fpga"].to_numpy())
    outside = int(np.setdiff1d(np.arange(15_625), covered)[0])
    with pytest.raises(HwnasError, match="not in rice_fpga's table .*restrict_to_table=true"):
        oracle.predict_ms(nb201.from_index([outside]))


def test_missing_edgetpu_values_are_not_latencies(nb201):
    oracle = LookupTable(nb201, "rice_edgetpu")
    assert len(oracle.coverage()) == 1_999 - 259
    assert (oracle.predict_ms(nb201.from_index(oracle.coverage())) > 0).all()


def test_unknown_device(nb201):
    with pytest.raises(HwnasError, match="Did you mean: raspi4"):
        LookupTable(nb201, "raspi5")
