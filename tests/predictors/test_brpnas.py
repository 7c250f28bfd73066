"""brpnas's predictive spread: the conformal scale of its leave-one-out errors, computed on first use."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
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


@pytest.mark.parametrize("key, value, match", [
    ("hidden", 0, "hidden must be a whole number >= 1, got 0"), ("layers", "abc", "layers must be a whole number"),
    ("epochs", -1, "epochs must be a whole number >= 1, got -1"), ("lr", -1.0, "lr must be a number > 0"),
    ("weight_decay", -1e-4, "weight_decay must be a number >= 0"), ("samples", 1, "samples >= 2"),
    ("samples", 2.5, "samples must be a whole number"), ("seed", -1, "seed must be a whole number >= 0"),
])
def test_bad_settings_are_one_line_before_training(nb201, key, value, match):
    with pytest.raises(HwnasError, match=f"oracle brpnas.*{match}") as info:
        BrpNasGCN(nb201, "raspi4", **{key: value})
    assert "\n" not in str(info.value)
