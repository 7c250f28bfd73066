"""A small categorical space with an analytic accuracy and latency, whose constrained optimum is known
by enumeration: the test bed on which every strategy must find the optimum."""

from __future__ import annotations

import itertools

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, Dimension, SearchSpace, as_matrix


class ToySpace(SearchSpace):
    """`dims` dimensions of `choices` options; choice c of dimension d adds accuracy and latency."""

    name = "toy"

    def __init__(self, dims: int = 5, choices: int = 4, seed: int = 0):
        rng = np.random.default_rng(seed)
        self._dims = [Dimension(f"d{i}", tuple(range(choices))) for i in range(dims)]
        self.latency_table_ms = rng.uniform(0.5, 3.0, (dims, choices))
        # accuracy grows with latency (bigger ops are better) plus a per-choice quirk, so the budget binds
        self.accuracy_table = 0.5 * self.latency_table_ms + rng.normal(0.0, 1.0, (dims, choices))

    def dimensions(self) -> list[Dimension]:
        return self._dims

    @property
    def size(self) -> int:
        return int(np.prod([len(d) for d in self._dims]))

    def to_string(self, arch: Arch) -> str:
        return "-".join(str(int(c)) for c in arch)

    def from_string(self, text: str) -> Arch:
        try:
            return self.validate(tuple(int(t) for t in text.split("-")))
        except ValueError:
            raise HwnasError(f"malformed toy architecture {text!r}") from None

    def build(self, arch: Arch):
        raise NotImplementedError("the toy space has no network")

    def all_archs(self) -> np.ndarray:
        return np.array(list(itertools.product(*[range(len(d)) for d in self._dims])), dtype=np.int64)

    def latency_ms(self, archs) -> np.ndarray:
        matrix = as_matrix(archs)
        return self.latency_table_ms[np.arange(matrix.shape[1]), matrix].sum(axis=1)

    def accuracy(self, archs) -> np.ndarray:
        matrix = as_matrix(archs)
        return 50.0 + self.accuracy_table[np.arange(matrix.shape[1]), matrix].sum(axis=1)

    def budget_at(self, percentile: float) -> float:
        return float(np.percentile(self.latency_ms(self.all_archs()), percentile))

    def optimum(self, budget_ms: float) -> tuple[Arch, float]:
        """The constrained optimum, by enumeration."""
        archs = self.all_archs()
        accuracy = np.where(self.latency_ms(archs) <= budget_ms, self.accuracy(archs), -np.inf)
        best = int(np.argmax(accuracy))
        return tuple(int(v) for v in archs[best]), float(accuracy[best])


class ToyOracle(LatencyOracle):
    name = "toy"

    def predict_ms(self, archs) -> np.ndarray:
        return self.space.latency_ms(archs)


class ToyEvaluator(Evaluator):
    metric = "toy accuracy (%)"

    def accuracy(self, archs) -> np.ndarray:
        return self.space.accuracy(archs)
