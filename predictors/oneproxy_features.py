"""Architecture features for OneProxy's linear latency predictors, batched over many archs.

Two blocks: `rich` features for the proxy predictor, fitted on the proxy's whole table, and a
few `transfer` features that the adaptation may re-weight from a handful of target probes.
In NAS-Bench-201 every edge of a cell runs at the same width and resolution, so an operation
costs about the same on any edge: op counts (5 values) carry most of a device's latency, while
edges cut off from the cell's input or output (dead edges, which some compilers prune) and
edge pairs add the rest. Other spaces use the one-hot encoding, plus choice counts where every
dimension offers the same choices.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.core.space import Arch, SearchSpace, as_matrix


def _shared_choices(space: SearchSpace) -> tuple | None:
    """The common choice tuple when every dimension offers the same choices, else None."""
    dims = space.dimensions()
    first = tuple(dims[0].choices)
    return first if all(tuple(d.choices) == first for d in dims) else None


def choice_counts(space: SearchSpace, archs: np.ndarray) -> np.ndarray:
    """How many dimensions take each choice, (n, choices); needs a shared choice set."""
    n_choices = len(space.dimensions()[0])
    return (archs[:, :, None] == np.arange(n_choices)).sum(axis=1).astype(np.float64)


def _onehot(archs: np.ndarray, n_choices: int) -> np.ndarray:
    out = np.zeros((len(archs), archs.shape[1] * n_choices))
    out[np.arange(len(archs))[:, None], np.arange(archs.shape[1]) * n_choices + archs] = 1.0
    return out


def _pairwise(archs: np.ndarray, n_choices: int) -> np.ndarray:
    """One-hot of the choice pair of every two dimensions (second-order interactions)."""
    i, j = np.triu_indices(archs.shape[1], k=1)
    codes = np.arange(len(i)) * n_choices ** 2 + archs[:, i] * n_choices + archs[:, j]
    out = np.zeros((len(archs), len(i) * n_choices ** 2))
    out[np.arange(len(archs))[:, None], codes] = 1.0
    return out


def nb201_live_ops(archs: np.ndarray) -> np.ndarray:
    """NB201 archs with dead edges set to `none`: an edge is live when its op is not `none`, its
    source is reachable from the cell input and its target reaches the cell output."""
    from hwnas.search_spaces.nasbench201 import EDGES, OPS

    none = OPS.index("none")
    active = archs != none
    n_nodes = max(j for _, j in EDGES) + 1
    reach = [np.ones(len(archs), bool)] + [np.zeros(len(archs), bool) for _ in range(n_nodes - 1)]
    for node in range(1, n_nodes):
        for e, (i, j) in enumerate(EDGES):
            if j == node:
                reach[node] |= reach[i] & active[:, e]
    leads_out = [np.zeros(len(archs), bool) for _ in range(n_nodes - 1)] + [np.ones(len(archs), bool)]
    for node in range(n_nodes - 2, -1, -1):
        for e, (i, j) in enumerate(EDGES):
            if i == node:
                leads_out[node] |= leads_out[j] & active[:, e]
    live = np.stack([active[:, e] & reach[i] & leads_out[j] for e, (i, j) in enumerate(EDGES)], axis=1)
    return np.where(live, archs, none)


def rich_features(space: SearchSpace, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
    """Features of the proxy predictor (float64, (n, d))."""
    matrix = as_matrix(archs)
    n_choices = len(space.dimensions()[0])
    if space.name == "nasbench201":
        live = nb201_live_ops(matrix)
        blocks = [choice_counts(space, matrix), choice_counts(space, live), _onehot(matrix, n_choices),
                  _onehot(live, n_choices), _pairwise(matrix, n_choices), _pairwise(live, n_choices)]
        return np.hstack(blocks)
    blocks = [np.asarray(space.encode(matrix), dtype=np.float64)]
    if _shared_choices(space) is not None:
        blocks.insert(0, choice_counts(space, matrix))
    return np.hstack(blocks)


def transfer_features(space: SearchSpace, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
    """The few features the adaptation re-weights on the target: choice counts where the
    dimensions share one choice set, else the one-hot encoding."""
    matrix = as_matrix(archs)
    if _shared_choices(space) is not None:
        return choice_counts(space, matrix)
    return np.asarray(space.encode(matrix), dtype=np.float64)
