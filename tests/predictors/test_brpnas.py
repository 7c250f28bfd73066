"""brpnas's predictive spread: the conformal scale of its leave-one-out errors, computed on first use."""

from __future__ import annotations

import numpy as np

from hwnas.data import devices
from hwnas.predictors.brpnas import BrpNasGCN


def adapted(space, **kwargs) -> BrpNasGCN:
    oracle = BrpNasGCN(space, "raspi4", epochs=40, hidden=16, layers=2, **kwargs)
    refs = oracle.reference_archs()
    oracle.adapt(refs, devices.latency_ms(space.name, "raspi4")[space.index(refs)])
    return oracle


def test_spread_is_a_reproducible_scale_of_the_prediction(nb201):
    archs = nb201.table_archs()[:500]
    first, second = adapted(nb201), adapted(nb201)
    assert first._relative_std is None                      # not computed until a spread is asked for
    mean, std = first.predict_ms(archs), first.predict_std_ms(archs)
    assert np.array_equal(std, second.predict_std_ms(archs)) and np.array_equal(first.predict_ms(archs), mean)
    ratio = std / mean
    assert (std > 0).all() and np.allclose(ratio, ratio[0])


def test_spread_bounds_the_worst_leave_one_out_error(nb201):
    """With 10 samples the 90 % conformal rank is the largest leave-one-out relative error."""
    oracle = adapted(nb201)
    scale = oracle._conformal_scale()
    assert 1.6448536 * scale > 0.01                           # a 40-epoch GCN is not 1 % accurate
    assert oracle.has_uncertainty()
