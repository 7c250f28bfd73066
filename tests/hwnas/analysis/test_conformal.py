"""The conformal scale: its rank, its coverage on exchangeable data, difficulty weights, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.analysis.conformal import conformal_quantile, relative_residuals, relative_std
from hwnas.core.errors import HwnasError


def test_rank_is_ceil_n_plus_one_times_coverage_and_the_largest_for_small_n():
    scores = np.arange(1.0, 20.0)                        # 19 scores: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(np.arange(1.0, 11.0), 0.9) == 10.0   # n = 10: the largest
    assert conformal_quantile([3.0, 1.0], 0.9) == 3.0               # too few for the level: the largest


def test_central_interval_covers_about_ninety_percent_of_new_exchangeable_points():
    rng = np.random.default_rng(0)
    inside = []
    for _ in range(2000):                               # 10 calibration points, one new point per draw
        predicted = rng.uniform(5, 20, size=11)
        measured = predicted * (1 + 0.1 * rng.standard_normal(11))
        std = relative_std(predicted[:10], measured[:10]) * predicted[10]
        inside.append(abs(measured[10] - predicted[10]) <= 1.6448536 * std)
    assert 0.88 <= np.mean(inside) <= 0.95             # the guarantee: >= 10/11 = 0.909 in expectation


def test_difficulty_and_absolute_scale():
    predicted, measured = np.array([10.0, 10.0, 10.0]), np.array([11.0, 12.0, 10.5])
    assert relative_std(predicted, measured) == pytest.approx(0.2 / 1.6448536, rel=1e-6)
    assert relative_std(predicted, measured, relative=False) == pytest.approx(2.0 / 1.6448536, rel=1e-6)
    # dividing the largest residual by a difficulty of 4 leaves 0.1 the largest score
    assert relative_std(predicted, measured, difficulty=[1, 4, 1]) == pytest.approx(0.1 / 1.6448536, rel=1e-6)


@pytest.mark.parametrize("call", [
    lambda: relative_residuals([1.0, 2.0], [1.0]),
    lambda: relative_residuals([1.0, np.nan], [1.0, 2.0]),
    lambda: conformal_quantile([], 0.9),
    lambda: conformal_quantile([1.0], 1.5),
    lambda: relative_std([1.0, 2.0], [1.0, 2.0], difficulty=[1.0, 0.0]),
])
def test_bad_input_is_one_clear_line(call):
    with pytest.raises(HwnasError) as info:
        call()
    assert "\n" not in str(info.value)
