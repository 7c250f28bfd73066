"""The one-line checks of plug-in settings (hwnas.core.errors)."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError, finite_number, positive_number, true_or_false, unknown_choice, whole_number


@pytest.mark.parametrize("value", [0, 7, np.int64(3)])
def test_whole_numbers_pass_as_int(value):
    assert whole_number("oracle x", "epochs", value, 0) == int(value)
    assert type(whole_number("oracle x", "epochs", value)) is int


@pytest.mark.parametrize("value, minimum", [(True, 0), (1.5, 0), (2.0, 0), ("3", 0), (None, 0), (-1, 0), (1, 2)])
def test_anything_else_is_one_line_naming_the_setting(value, minimum):
    with pytest.raises(HwnasError, match=rf"^oracle x: epochs must be a whole number >= {minimum}, got ") as info:
        whole_number("oracle x", "epochs", value, minimum)
    assert "\n" not in str(info.value)


def test_whole_number_reads_its_unit():
    with pytest.raises(HwnasError, match="ensemble must be a whole number of pre-trainings >= 1, got 0"):
        whole_number("oracle x", "ensemble", 0, 1, " of pre-trainings")


@pytest.mark.parametrize("value", [1e-3, 2, np.float32(0.5)])
def test_positive_numbers_pass_as_float(value):
    assert positive_number("oracle x", "lr", value) == pytest.approx(float(value))


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), True, "1e-3", None])
def test_non_positive_or_non_numbers_are_refused(value):
    with pytest.raises(HwnasError, match=r"^oracle x: lr must be a number > 0, got "):
        positive_number("oracle x", "lr", value)


def test_unknown_choice_suggests_close_names():
    assert "Did you mean: raspi4" in str(unknown_choice("device", "raspi", ["raspi4", "pixel3"]))


def test_finite_numbers_of_any_sign_pass_and_the_rest_is_one_line():
    assert finite_number("strategy x", "weight", -0.07) == -0.07
    for bad in (float("nan"), float("inf"), "0.1", True, None):
        with pytest.raises(HwnasError, match=r"^strategy x: weight must be a finite number, got "):
            finite_number("strategy x", "weight", bad)


def test_true_or_false_takes_booleans_only():
    assert true_or_false("oracle x", "store", np.bool_(True)) is True
    for bad in ("maybe", "true", 1, None):
        with pytest.raises(HwnasError, match=r"^oracle x: store must be true or false, got "):
            true_or_false("oracle x", "store", bad)
