"""One exception type for every user-facing mistake, so the CLI can print one line instead of a traceback."""

from __future__ import annotations

import difflib
import math
import numbers
import sys
from typing import Iterable


class HwnasError(Exception):
    """A problem with the user's input or data, explained in one line."""


def unknown_choice(what: str, value: str, valid: Iterable[str]) -> HwnasError:
    """An error naming an unknown `value`, with close matches first, then every valid choice."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(value), valid, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return HwnasError(f"unknown {what} {value!r}.{hint} Valid: {', '.join(valid)}")


def whole_number(owner: str, key: str, value, minimum: int | None = None, unit: str = "") -> int:
    """`value` as an int, or one line naming `owner`'s setting `key`: booleans, fractions and text are refused,
    and so is a value under `minimum` (`unit`, e.g. " of pre-trainings", reads after "whole number")."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole or (minimum is not None and value < minimum):
        limit = "" if minimum is None else f" >= {minimum}"
        raise HwnasError(f"{owner}: {key} must be a whole number{unit}{limit}, got {value!r}")
    return int(value)


def positive_number(owner: str, key: str, value, allow_zero: bool = False) -> float:
    """`value` as a finite float > 0 (>= 0 with `allow_zero`), or one line naming `owner`'s setting `key`
    (booleans and text refused)."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise HwnasError(f"{owner}: {key} must be a number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return float(value)


def true_or_false(owner: str, key: str, value) -> bool:
    """`value` as a bool, or one line naming `owner`'s setting `key` (a text such as 'maybe' is not taken as true)."""
    numpy = sys.modules.get("numpy")     # a numpy bool exists only once numpy is imported; --help imports none
    if not (isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_))):
        raise HwnasError(f"{owner}: {key} must be true or false, got {value!r}")
    return bool(value)


def finite_number(owner: str, key: str, value) -> float:
    """`value` as a finite float of any sign, or one line naming `owner`'s setting `key`."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise HwnasError(f"{owner}: {key} must be a finite number, got {value!r}")
    return float(value)
