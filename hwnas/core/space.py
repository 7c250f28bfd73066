"""The search-space interface: categorical choices, text forms, a buildable network, and the data it ships.

An architecture (`Arch`) is a tuple of choice indices, one per dimension: immutable, hashable, usable by
Optuna samplers and RL policies. Spaces where some choices can be unused map every arch to a canonical form.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.records import (Arch, DeviceTable, Dimension, ReferenceRows, as_matrix,  # noqa: F401 - re-exported
                                text_or_json_form)

if TYPE_CHECKING:  # torch is imported lazily by build()
    import torch


class SearchSpace(ABC):
    """A categorical search space with text form, batched encodings, a buildable network and its measured data."""

    name: str
    #: a tabled device of this space that the contract suites of `hwnas.testing` run oracles on (None: no data)
    contract_device: str | None = None

    # ------------------------------------------------------------------ required
    @abstractmethod
    def dimensions(self) -> list[Dimension]:
        """Ordered categorical dimensions."""

    @abstractmethod
    def to_string(self, arch: Arch) -> str:
        """The space's usual text form."""

    @abstractmethod
    def from_string(self, text: str) -> Arch:
        """Parse the text form; a malformed string raises HwnasError naming the bad token."""

    @abstractmethod
    def build(self, arch: Arch) -> "torch.nn.Module":
        """The real network (torch imported lazily)."""

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        """Input tensor shape of the built network."""
        raise NotImplementedError

    # ------------------------------------------------------------------ defaults
    def canonical(self, arch: Arch) -> Arch:
        """The canonical representative (identity unless some choices can be unused)."""
        return tuple(int(c) for c in arch)

    def equivalents(self, arch: Arch) -> list[Arch]:
        """Other archs that compute the same network but run other operations (so a latency table times
        them differently): e.g. operations on edges that cannot reach the output. None by default."""
        return []

    def validate(self, arch: Sequence[int]) -> Arch:
        dims = self.dimensions()
        if len(arch) != len(dims):
            raise HwnasError(f"{self.name}: architecture has {len(arch)} choices, expected {len(dims)}")
        for value, dim in zip(arch, dims):
            if not 0 <= int(value) < len(dim):
                raise HwnasError(f"{self.name}: {dim.name}={value} out of range 0..{len(dim) - 1}")
        return self.canonical(arch)

    def checked_matrix(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """`as_matrix(archs)`, refusing (batched check, HwnasError naming the choice) malformed archs."""
        matrix = as_matrix(archs)
        if matrix.size == 0:
            return matrix.reshape(0, len(self.dimensions()))
        sizes = np.array([len(d) for d in self.dimensions()])
        if matrix.ndim != 2 or matrix.shape[1] != len(sizes) or (matrix < 0).any() or (matrix >= sizes).any():
            bad = next(a for a in matrix if len(a) != len(sizes) or (a < 0).any() or (a >= sizes).any())
            self.validate(tuple(int(v) for v in bad))
        return matrix

    @property
    def size(self) -> int | None:
        """Number of distinct (canonical) architectures, where known."""
        return None

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[Arch]:
        """Uniform over each dimension, independently."""
        sizes = np.array([len(d) for d in self.dimensions()])
        draws = (rng.random((n, len(sizes))) * sizes).astype(np.int64)
        return [self.canonical(row) for row in draws]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one dimension to a different choice (repeat if canonicalisation undoes it)."""
        dims = self.dimensions()
        for _ in range(100):
            i = int(rng.integers(len(dims)))
            if len(dims[i]) < 2:
                continue
            new = list(arch)
            new[i] = (arch[i] + 1 + int(rng.integers(len(dims[i]) - 1))) % len(dims[i])
            child = self.canonical(new)
            if child != arch:
                return child
        return arch

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover over dimensions."""
        mask = rng.random(len(a)) < 0.5
        return self.canonical(np.where(mask, a, b))

    def encode(self, archs: Sequence[Arch] | np.ndarray, kind: str = "onehot") -> np.ndarray:
        """Batched features: `onehot` concatenates a one-hot per dimension."""
        if kind != "onehot":
            raise HwnasError(f"{self.name}: unknown encoding {kind!r}; valid: onehot")
        matrix = as_matrix(archs)
        sizes = [len(d) for d in self.dimensions()]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        out = np.zeros((len(matrix), sum(sizes)), dtype=np.float32)
        if len(matrix):
            out[np.arange(len(matrix))[:, None], matrix + offsets] = 1.0
        return out

    # ------------------------------------------------------------------ the space's data (default: none)
    def table_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Row of each arch in the space's measured data set (-1 where it is not there)."""
        return np.full(len(as_matrix(archs)), -1, dtype=np.int64)

    def table_archs(self) -> np.ndarray:
        """All archs of the measured data set, row by row, as an (n, dims) int array."""
        return np.zeros((0, len(self.dimensions())), dtype=np.int64)

    @property
    def exhaustively_tabled(self) -> bool:
        """True when the data set holds every architecture of the space (ground truth is exact)."""
        return False

    def to_data_form(self, arch: Arch) -> object:
        """The architecture in the data set's own form (for joining with the tables)."""
        return self.to_string(arch)

    def latency_tables(self) -> Mapping[str, DeviceTable]:
        """Each shipped device's measured latency over the table rows, by device name (read by hwnas.data.devices)."""
        return {}

    def reference_rows(self) -> ReferenceRows:
        """Table rows of the space's reference architectures (HELP's hardware embedding), where it has them."""
        return ReferenceRows()

    def arch_note(self, arch: Arch) -> str:
        """A plain-words warning for an arch that runs but is degenerate (stored with its measurement)."""
        return ""
