"""The learnt discrepancy of a predictor from the target: an overall bias, and a local one near measured archs."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.analysis.discrepancy import Discrepancy
from hwnas.core.errors import HwnasError


def test_no_fit_is_no_correction():
    assert Discrepancy().factor(np.zeros((3, 6), dtype=int)).tolist() == [1.0, 1.0, 1.0]


def test_an_overall_bias_is_removed_everywhere():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(30, 6))
    predicted = rng.uniform(5, 20, size=30)
    fitted = Discrepancy()
    fitted.fit(x, predicted, predicted * 1.2)
    np.testing.assert_allclose(fitted.factor(rng.integers(0, 5, size=(10, 6))), 1.2, rtol=1e-6)


def test_a_neighbour_of_a_measured_arch_inherits_its_error():
    """Archs near (0,..,0) are 30 % slower than predicted, archs near (4,..,4) exact: a one-choice mutation of
    each takes its neighbourhood's correction, not the average."""
    rng = np.random.default_rng(1)
    slow = np.zeros((12, 6), dtype=int)
    fast = np.full((12, 6), 4)
    for block in (slow, fast):
        rows = np.arange(12)
        block[rows, rows % 6] = rng.integers(0, 5, size=12)   # one choice changed per arch
    x = np.vstack([slow, fast])
    predicted = np.full(24, 10.0)
    measured = np.r_[np.full(12, 13.0), np.full(12, 10.0)] * rng.normal(1, 0.01, 24)
    fitted = Discrepancy()
    fitted.fit(x, predicted, measured)
    near_slow, near_fast = fitted.factor(np.array([[0, 0, 0, 0, 0, 1], [4, 4, 4, 4, 4, 3]]))
    assert near_slow > 1.2 and near_fast < 1.08


def test_non_finite_input_is_refused():
    with pytest.raises(HwnasError, match="discrepancy"):
        Discrepancy().fit(np.zeros((3, 2), dtype=int), [1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
