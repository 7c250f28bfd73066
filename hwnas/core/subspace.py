"""A space restricted to the rows of a measured table (a device's coverage, or FBNet/OFA's 5,000).

Searching inside the table gives exact ground truth. Proposals outside it are snapped to the
nearest tabled architecture (Hamming distance over choices, lowest row on ties); a mutation moves to
one of the `neighbours` nearest other tabled architectures, drawn uniformly (ties broken at random),
so that evolution keeps moving in a sparse table instead of bouncing between two neighbours.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch, Dimension, SearchSpace, as_matrix


class TableSubspace(SearchSpace):
    def __init__(self, space: SearchSpace, rows: Sequence[int] | np.ndarray, neighbours: int = 8):
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            raise HwnasError(f"cannot restrict {space.name} to an empty set of architectures")
        self.base = space
        self.name = space.name
        self.rows = rows
        self.neighbours = neighbours
        self._archs = np.asarray(space.table_archs())[rows]
        self._position = {tuple(int(v) for v in a): i for i, a in enumerate(self._archs)}

    def __getattr__(self, name: str):
        """Anything the subspace does not redefine is the base space's (its constants, `graph`, operators)."""
        if name == "base" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.base, name)

    def dimensions(self) -> list[Dimension]:
        return self.base.dimensions()

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def exhaustively_tabled(self) -> bool:
        return True

    def to_string(self, arch: Arch) -> str:
        return self.base.to_string(arch)

    def from_string(self, text: str) -> Arch:
        return self.base.from_string(text)

    def build(self, arch: Arch):
        return self.base.build(arch)

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        return self.base.input_shape(arch, batch_size)

    def encode(self, archs, kind: str = "onehot") -> np.ndarray:
        return self.base.encode(archs, kind)

    def table_index(self, archs) -> np.ndarray:
        return self.base.table_index(archs)

    def table_archs(self) -> np.ndarray:
        return self.base.table_archs()

    def to_data_form(self, arch: Arch) -> object:
        return self.base.to_data_form(arch)

    def latency_tables(self):
        return self.base.latency_tables()

    def reference_rows(self):
        return self.base.reference_rows()

    def arch_note(self, arch: Arch) -> str:
        return self.base.arch_note(arch)

    def canonical(self, arch: Arch) -> Arch:
        arch = self.base.canonical(arch)
        if arch in self._position:
            return arch
        distance = (self._archs != np.asarray(arch)).sum(axis=1)
        return tuple(int(v) for v in self._archs[int(np.argmin(distance))])

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[Arch]:
        picks = rng.integers(len(self._archs), size=n)
        return [tuple(int(v) for v in self._archs[i]) for i in picks]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        distance = (self._archs != np.asarray(arch)).sum(axis=1)
        order = rng.permutation(len(distance))
        ranked = order[np.argsort(distance[order], kind="stable")]
        ranked = ranked[distance[ranked] > 0][: self.neighbours]
        return tuple(int(v) for v in self._archs[rng.choice(ranked)]) if len(ranked) else arch

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        return self.canonical(self.base.crossover(a, b, rng))

    def covered(self, archs) -> np.ndarray:
        """Whether each arch is in the table subset."""
        return np.array([tuple(int(v) for v in a) in self._position for a in as_matrix(archs)], dtype=bool)
