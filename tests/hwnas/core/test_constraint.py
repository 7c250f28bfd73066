"""The one feasibility rule: violation_ms = latency_ms - budget_ms, feasible iff <= 0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwnas.core.constraint import Constraint, constrained_key, is_feasible
from hwnas.core.errors import HwnasError
from hwnas.core.strategy import Trial


def test_violation_sign_and_the_boundary():
    c = Constraint(5.0)
    assert c.violation_ms(7.5) == 2.5 and c.violation_ms(4.0) == -1.0
    assert c.feasible(5.0) is True and c.feasible(5.0 + 1e-12) is False
    assert c.feasible(float("nan")) is False


def test_arrays_give_arrays():
    c = Constraint(2)
    np.testing.assert_array_equal(c.feasible(np.array([1.0, 2.0, 3.0, np.nan])), [True, True, False, False])
    np.testing.assert_allclose(c.violation_ms([1.0, 3.0]), [-1.0, 1.0])


def test_trial_feasibility_is_the_same_rule():
    c = Constraint(3.0)
    for latency in (2.0, 3.0, 3.5):
        trial = Trial((0,), 50.0, latency, c.violation_ms(latency))
        assert trial.feasible == c.feasible(latency) == bool(is_feasible(trial.violation_ms))


def test_constrained_key_ranks_feasible_first_then_accuracy_then_violation():
    c = Constraint(3.0)
    make = lambda acc, lat: Trial((0,), acc, lat, c.violation_ms(lat))  # noqa: E731
    ranked = sorted([make(90, 4.0), make(70, 2.0), make(80, 2.5), make(99, 3.5), make(math.nan, 3.2)],
                    key=constrained_key, reverse=True)
    assert [t.latency_ms for t in ranked] == [2.5, 2.0, 3.2, 3.5, 4.0]


@pytest.mark.parametrize("bad", ["ten", None, float("nan")])
def test_a_budget_that_is_not_a_number_is_one_line(bad):
    with pytest.raises(HwnasError, match="budget_ms must be a number"):
        Constraint(bad)


def test_a_chance_constraint_keeps_z_standard_deviations_of_margin():
    c = Constraint(10.0, confidence=0.9)
    assert c.uses_uncertainty and c.z == pytest.approx(1.2816, abs=1e-4)
    assert c.violation_ms(9.0, 0.5) == pytest.approx(9.0 + 1.2816 * 0.5 - 10.0, abs=1e-4)
    assert c.feasible(9.0, 0.5) is True and c.feasible(9.0, 1.0) is False
    np.testing.assert_array_equal(c.feasible(np.array([9.0, 9.0]), np.array([0.1, 2.0])), [True, False])
    plain = Constraint(10.0)
    assert not plain.uses_uncertainty and plain.violation_ms(9.0, 5.0) == -1.0   # q = 0.5: the mean itself


def test_an_optimistic_confidence_counts_a_likely_over_budget_latency_feasible():
    c = Constraint(10.0, confidence=0.2)
    assert c.uses_uncertainty and c.z == pytest.approx(-0.8416, abs=1e-4)
    assert c.feasible(10.5, 1.0) is True and c.feasible(10.5, 0.5) is False   # 10.5 - 0.84 std <= 10
    assert Constraint(10.0).feasible(10.5, 1.0) is False


@pytest.mark.parametrize("confidence", [0.0, -0.2, 1.0, 1.5])
def test_a_confidence_outside_zero_to_one_is_one_line(confidence):
    with pytest.raises(HwnasError, match="constraint_confidence must be in"):
        Constraint(5.0, confidence=confidence)
