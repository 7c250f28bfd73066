"""Public toy plug-ins: a small space with an exhaustive table and a known constrained optimum, its
analytic latency oracle and accuracy evaluator, and a space no real oracle can serve."""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.evaluator import Evaluator
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, Dimension, SearchSpace


class ToySpace(SearchSpace):
    """`dims` dimensions of `choices` options; choice c of dimension d adds accuracy and latency."""

    name = "toy"

    def __init__(self, dims: int = 5, choices: int = 4, seed: int = 0):
        rng = np.random.default_rng(seed)
        self._dims = [Dimension(f"d{i}", tuple(range(choices))) for i in range(dims)]
        self.latency_table_ms = rng.uniform(0.5, 3.0, (dims, choices))
        # accuracy grows with latency (bigger ops are better) plus a per-choice quirk, so the budget binds
        self.accuracy_table = 0.5 * self.latency_table_ms + rng.normal(0.0, 1.0, (dims, choices))
        self._radix = choices ** np.arange(dims - 1, -1, -1)

    def dimensions(self) -> list[Dimension]:
        return self._dims

    @property
    def size(self) -> int:
        return int(np.prod([len(d) for d in self._dims]))

    def to_string(self, arch: Arch) -> str:
        return "-".join(str(int(c)) for c in arch)

    def from_string(self, text: str) -> Arch:
        try:
            return self.validate(tuple(int(t) for t in str(text).split("-")))
        except ValueError:
            raise HwnasError(f"malformed toy architecture {text!r}: expected {len(self._dims)} "
                             "'-'-separated choice indices") from None

    def build(self, arch: Arch):
        """A tiny MLP whose hidden widths are the choices (so every arch is a different network)."""
        import torch

        widths = [4 * (1 + c) for c in self.validate(arch)]
        layers, inputs = [], len(self._dims)
        for width in widths:
            layers += [torch.nn.Linear(inputs, width), torch.nn.ReLU()]
            inputs = width
        return torch.nn.Sequential(*layers, torch.nn.Linear(inputs, 2))

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        return (batch_size, len(self._dims))

    # ---------------------------------------------------------------- the exhaustive table
    def table_archs(self) -> np.ndarray:
        """Every architecture, row r being r written in base `choices`."""
        return np.array(list(itertools.product(*[range(len(d)) for d in self._dims])), dtype=np.int64)

    def table_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self.checked_matrix(archs) @ self._radix

    @property
    def exhaustively_tabled(self) -> bool:
        return True

    def all_archs(self) -> np.ndarray:
        return self.table_archs()

    # ---------------------------------------------------------------- analytic truth
    def latency_ms(self, archs) -> np.ndarray:
        matrix = self.checked_matrix(archs)
        return self.latency_table_ms[np.arange(matrix.shape[1]), matrix].sum(axis=1)

    def accuracy(self, archs) -> np.ndarray:
        matrix = self.checked_matrix(archs)
        return 50.0 + self.accuracy_table[np.arange(matrix.shape[1]), matrix].sum(axis=1)

    def budget_at(self, percentile: float) -> float:
        return float(np.percentile(self.latency_ms(self.all_archs()), percentile))

    def optimum(self, budget_ms: float) -> tuple[Arch, float]:
        """The constrained optimum, by enumeration."""
        archs = self.all_archs()
        accuracy = np.where(self.latency_ms(archs) <= budget_ms, self.accuracy(archs), -np.inf)
        best = int(np.argmax(accuracy))
        return tuple(int(v) for v in archs[best]), float(accuracy[best])


def _require_toy(space: SearchSpace, what: str) -> ToySpace:
    if not isinstance(space, ToySpace):
        raise HwnasError(f"the toy {what} serves only the toy space, not {space.name}")
    return space


class ToyOracle(LatencyOracle):
    """The toy space's exact latency on its one device, `toy` (batched)."""

    name = "toy"
    DEVICES = ("toy",)

    def __init__(self, space: SearchSpace, device: str = "toy"):
        super().__init__(_require_toy(space, "oracle"), device)
        if device not in self.DEVICES:
            raise unknown_choice("device for the toy space", device, self.DEVICES)

    def predict_ms(self, archs) -> np.ndarray:
        return self.space.latency_ms(archs)


class ToyEvaluator(Evaluator):
    """The toy space's analytic accuracy (batched)."""

    metric = "toy accuracy (%)"

    def __init__(self, space: SearchSpace):
        super().__init__(_require_toy(space, "evaluator"))

    def accuracy(self, archs) -> np.ndarray:
        return self.space.accuracy(archs)


class UnsupportedToySpace(SearchSpace):
    """A 3-dimension space with no data, no graph and no network: no real oracle can serve it."""

    name = "hwnas_testing_toy"

    def dimensions(self) -> list[Dimension]:
        return [Dimension(f"d{i}", (0, 1, 2)) for i in range(3)]

    def to_string(self, arch: Arch) -> str:
        return "-".join(map(str, arch))

    def from_string(self, text: str) -> Arch:
        return tuple(int(t) for t in text.split("-"))

    def build(self, arch: Arch):
        raise HwnasError("the toy space has no network")
