"""One exception type for every user-facing mistake, so the CLI can print one line instead of a traceback."""

from __future__ import annotations

import difflib
from typing import Iterable


class HwnasError(Exception):
    """A problem with the user's input or data, explained in one line."""


def unknown_choice(what: str, value: str, valid: Iterable[str]) -> HwnasError:
    """An error naming an unknown `value`, with close matches first, then every valid choice."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(value), valid, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return HwnasError(f"unknown {what} {value!r}.{hint} Valid: {', '.join(valid)}")
