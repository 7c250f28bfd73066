"""NAS-Bench-201 (Dong & Yang, 2020): one cell of 4 nodes, 6 edges, 5 operations; 15,625 cells.

An arch is the 6 edge operations in the official string order:
`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, where token k of group g is the edge node k -> node g+1.
The official index comes from the benchmark's own ordering (in the data), in both directions.
"""

from __future__ import annotations

import functools
import itertools
from typing import Mapping, Sequence

import numpy as np

from hwnas.core.errors import HwnasError, whole_number
from hwnas.core.records import DeviceTable, ReferenceRows
from hwnas.core.space import Arch, Dimension, SearchSpace, as_matrix
from hwnas.search_spaces import _help_data
from hwnas.search_spaces._help_data import NB201_SIZE

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (from node, to node), string order
_POWERS = 5 ** np.arange(5, -1, -1)
# Graph view (BRP-NAS / HELP style): each edge's op becomes a node between an input and an output node.
GRAPH_NODE_TYPES = ("input",) + OPS + ("output",)


def _parse(text: str) -> Arch:
    """Parse an official NB201 string, naming the first token that is wrong."""
    if not isinstance(text, str):
        raise HwnasError(f"NAS-Bench-201 architecture must be a string, got {type(text).__name__}")
    groups = text.strip().split("+")
    if len(groups) != 3:
        raise HwnasError(f"malformed NAS-Bench-201 string {text!r}: expected 3 '+'-separated node groups, "
                         f"got {len(groups)}")
    ops: list[int] = []
    for g, group in enumerate(groups):
        if not (group.startswith("|") and group.endswith("|")):
            raise HwnasError(f"malformed NAS-Bench-201 string {text!r}: group {group!r} must be wrapped in '|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != g + 1:
            raise HwnasError(f"malformed NAS-Bench-201 string {text!r}: node {g + 1} needs {g + 1} inputs, "
                             f"group {group!r} has {len(tokens)}")
        for k, token in enumerate(tokens):
            op, sep, src = token.partition("~")
            if not sep or src != str(k):
                raise HwnasError(f"malformed NAS-Bench-201 string {text!r}: token {token!r} should be "
                                 f"'<op>~{k}'")
            if op not in OPS:
                raise HwnasError(f"malformed NAS-Bench-201 string {text!r}: unknown operation {op!r} in "
                                 f"token {token!r}; valid: {', '.join(OPS)}")
            ops.append(OPS.index(op))
    return tuple(ops)


def _zero_nodes(arch: Arch) -> dict[int, bool]:
    """Whether each node is always zero: every input edge is `none` (op 0) or comes from such a node."""
    zero = {0: False}
    for node in (1, 2, 3):
        zero[node] = all(arch[e] == 0 or zero[src] for e, (src, dst) in enumerate(EDGES) if dst == node)
    return zero


def pruned(arch: Arch) -> Arch:
    """`arch` with every edge that cannot change the cell's output set to `none`: an edge out of a node that is
    always zero (each of its inputs is `none` or from such a node), or into a node with no non-`none` path to the
    output. Two cells with the same pruned form compute the same network; the 15,625 cells have 9,445 forms."""
    zero = _zero_nodes(arch)
    reaches_output = {3: True}
    for node in (2, 1):
        reaches_output[node] = any(arch[e] != 0 and reaches_output[dst] for e, (src, dst) in enumerate(EDGES)
                                   if src == node)
    return tuple(0 if zero[src] or not reaches_output[dst] else int(op) for op, (src, dst) in zip(arch, EDGES))


@functools.cache
def _cells_by_pruned() -> dict[Arch, tuple[Arch, ...]]:
    """Every cell of the space, grouped by its pruned form."""
    groups: dict[Arch, list[Arch]] = {}
    for cell in itertools.product(range(len(OPS)), repeat=len(EDGES)):
        groups.setdefault(pruned(cell), []).append(cell)
    return {key: tuple(cells) for key, cells in groups.items()}


def arch_strings() -> tuple[str, ...]:
    """Official NAS-Bench-201 arch strings; position i is index i (the order of every NB201 table)."""
    return _help_data.nb201_arch_strings()


@functools.lru_cache(maxsize=1)
def _index_tables() -> tuple[np.ndarray, np.ndarray]:
    """(index -> arch matrix (15625, 6), base-5 code -> official index)."""
    index_to_arch = np.array([_parse(s) for s in arch_strings()], dtype=np.int64)
    codes = index_to_arch @ _POWERS
    if len(np.unique(codes)) != NB201_SIZE:
        raise HwnasError(f"corrupt data file {_help_data.NB201_ARCHS_FILE}: duplicated architectures")
    code_to_index = np.empty(NB201_SIZE, dtype=np.int64)
    code_to_index[codes] = np.arange(NB201_SIZE)
    index_to_arch.setflags(write=False)
    code_to_index.setflags(write=False)
    return index_to_arch, code_to_index


class NasBench201(SearchSpace):
    """The NAS-Bench-201 cell space; every arch is tabled (official index)."""

    name = "nasbench201"
    contract_device = "raspi4"   # HELP meta-test device (unseen by meta-trained oracles): the contract suites run here

    def __init__(self, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5):
        self.num_classes = whole_number("space nasbench201", "num_classes", num_classes, 1)
        self.channels = whole_number("space nasbench201", "channels", channels, 1)
        self.cells_per_stage = whole_number("space nasbench201", "cells_per_stage", cells_per_stage, 1)
        self._dims = [Dimension(f"edge_{i}->{j}", OPS) for i, j in EDGES]

    def dimensions(self) -> list[Dimension]:
        return self._dims

    @property
    def size(self) -> int:
        return NB201_SIZE

    def to_string(self, arch: Arch) -> str:
        o = [OPS[i] for i in arch]
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def from_string(self, text: str) -> Arch:
        return _parse(text)

    # ---------------------------------------------------------------- index, both ways
    def index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Official NAS-Bench-201 index of each arch."""
        matrix = self.checked_matrix(archs)
        return _index_tables()[1][matrix @ _POWERS]

    def from_index(self, indices: Sequence[int] | np.ndarray) -> list[Arch]:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= NB201_SIZE):
            bad = indices[(indices < 0) | (indices >= NB201_SIZE)][0]
            raise HwnasError(f"NAS-Bench-201 index {bad} out of range 0..{NB201_SIZE - 1}")
        return [tuple(int(v) for v in row) for row in _index_tables()[0][indices]]

    def table_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self.index(archs)

    def table_archs(self) -> np.ndarray:
        return _index_tables()[0]

    @property
    def exhaustively_tabled(self) -> bool:
        return True

    def latency_tables(self) -> Mapping[str, DeviceTable]:
        """HELP's 27 devices on every cell, then OneProxy's 18 on its 1,999."""
        return _help_data.nb201_tables()

    def reference_rows(self) -> ReferenceRows:
        return _help_data.reference_rows("nasbench201")

    def arch_note(self, arch: Arch) -> str:
        """Warns of a cell whose output is cut off from its input (every path has a `none` edge)."""
        return "cell output cut off from its input (every path has a none edge)" if _zero_nodes(arch)[3] else ""

    def equivalents(self, arch: Arch) -> list[Arch]:
        """Cells that differ from `arch` only on edges that cannot change its output (`pruned`): the same network
        up to a constant where a convolution's batch norm sees an all-zero input, with other operations running."""
        arch = self.validate(arch)
        return [other for other in _cells_by_pruned()[pruned(arch)] if other != arch]

    # ---------------------------------------------------------------- encodings
    def encode(self, archs: Sequence[Arch] | np.ndarray, kind: str = "onehot") -> np.ndarray:
        """`onehot`: 6 edges x 5 ops (30 values); `graph`: flattened adjacency + node one-hots."""
        if kind == "graph":
            adjacency, features = self.graph(archs)
            return np.concatenate([adjacency.reshape(len(adjacency), -1), features.reshape(len(features), -1)], 1)
        return super().encode(archs, kind)

    def graph(self, archs: Sequence[Arch] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell as an operation-on-node DAG: adjacency (n, 8, 8) and node one-hots (n, 8, 7).

        Node 0 is the cell input, nodes 1..6 are the 6 edge operations in string order, node 7 the
        output; op node (i->j) feeds every op node leaving node j, and the output when j = 3.
        """
        matrix = as_matrix(archs)
        n = len(matrix)
        adjacency = np.zeros((8, 8), dtype=np.float32)
        for a, (src_a, _) in enumerate(EDGES):
            if src_a == 0:
                adjacency[0, a + 1] = 1.0
        for a, (_, dst_a) in enumerate(EDGES):
            for b, (src_b, _) in enumerate(EDGES):
                if dst_a == src_b:
                    adjacency[a + 1, b + 1] = 1.0
            if dst_a == 3:
                adjacency[a + 1, 7] = 1.0
        features = np.zeros((n, 8, len(GRAPH_NODE_TYPES)), dtype=np.float32)
        features[:, 0, 0] = 1.0
        features[:, 7, -1] = 1.0
        if n:
            features[np.arange(n)[:, None], np.arange(1, 7), matrix + 1] = 1.0
        return np.broadcast_to(adjacency, (n, 8, 8)).copy(), features

    # ---------------------------------------------------------------- network
    def build(self, arch: Arch):
        from hwnas.search_spaces.nb201_network import build_nb201_network

        return build_nb201_network([OPS[i] for i in self.validate(arch)], C=self.channels,
                                   N=self.cells_per_stage, num_classes=self.num_classes)

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        return (batch_size, 3, 32, 32)
