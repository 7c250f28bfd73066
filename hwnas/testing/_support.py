"""Helpers shared by the contract suites."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.space import SearchSpace


def expect_hwnas_error(label: str, call: Callable[[], Any]) -> None:
    """`call()` must raise HwnasError with a one-line message; anything else fails, naming `label`."""
    try:
        call()
    except HwnasError as exc:
        assert str(exc).strip(), f"{label}: the HwnasError has no message"
        assert "\n" not in str(exc).strip(), f"{label}: the HwnasError message spans several lines"
        return
    except Exception as exc:  # noqa: BLE001 - the point of the check
        raise AssertionError(f"{label} raised {type(exc).__name__}: {exc} (expected HwnasError)") from exc
    raise AssertionError(f"{label} was accepted without an HwnasError")


def malformed_archs(space: SearchSpace) -> list[tuple[str, tuple]]:
    """(label, arch) pairs every space, oracle and evaluator must refuse."""
    dims = len(space.dimensions())
    return [("an arch with too few choices", (0,) * (dims - 1)),
            ("an arch with an out-of-range choice", (99,) * dims),
            ("an arch with a negative choice", (-1,) + (0,) * (dims - 1))]


def table_of(space: SearchSpace) -> np.ndarray | None:
    """The space's table as an (n, dims) int matrix, or None when it has no measured data set (no rows)."""
    try:
        table = np.asarray(space.table_archs())
    except HwnasError:
        return None
    return table if len(table) else None


def draw_archs(space: SearchSpace, n: int, seed: int = 0) -> np.ndarray:
    """`n` distinct archs (fewer if the source is smaller): tabled rows where there is a table, else samples."""
    rng = np.random.default_rng(seed)
    table = table_of(space)
    if table is not None:
        return table[np.sort(rng.choice(len(table), size=min(n, len(table)), replace=False))]
    unique = list(dict.fromkeys(space.sample(rng, 4 * n)))[:n]
    return np.asarray(unique, dtype=np.int64)


def as_tuples(matrix) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row) for row in np.asarray(matrix)]


@contextmanager
def torch_threads(n: int):
    """At most `n` torch threads inside the block, when torch is already imported (never imported here)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(min(n, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_checks(kind: str, checks: dict[str, Callable[..., None]], *args: Any) -> None:
    """Run every check; the first failure (or unexpected exception) raises AssertionError naming it."""
    for name, check in checks.items():
        try:
            check(*args)
        except AssertionError as exc:
            raise AssertionError(f"{kind} contract '{name}': {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - a plug-in crashing inside a check fails that check
            raise AssertionError(f"{kind} contract '{name}': {type(exc).__name__}: {exc}") from exc
