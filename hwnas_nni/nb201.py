"""NAS-Bench-201 in NNI's hub form (`nni.nas.hub.pytorch.NasBench201`) to and from hwnas archs.

NNI labels the edge node j -> node i of its cell `"<cell label>/j_i"` and names the convolutions
`conv_1x1`/`conv_3x3`; hwnas (and the benchmark's own strings) say `nor_conv_1x1`/`nor_conv_3x3`.
Pure Python: no nni import.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch

# hwnas op (hwnas.search_spaces.nasbench201.OPS order) -> NNI's primitive name
NNI_OPS = {"none": "none", "skip_connect": "skip_connect", "nor_conv_1x1": "conv_1x1",
           "nor_conv_3x3": "conv_3x3", "avg_pool_3x3": "avg_pool_3x3"}
_HWNAS_OPS = tuple(NNI_OPS)
_FROM_NNI = {nni: i for i, nni in enumerate(NNI_OPS.values())}
_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # hwnas dimension order (the benchmark's)


def _edge_keys(label: str) -> list[str]:
    return [f"{label}/{j}_{i}" if label else f"{j}_{i}" for j, i in _EDGES]


def to_nni_sample(arch: Arch | str, label: str = "cell") -> dict[str, str]:
    """An hwnas arch (6 choice indices) or NB201 string as NNI's sample dict, e.g. {'cell/0_1': 'conv_3x3'}."""
    if isinstance(arch, str):
        from hwnas.search_spaces.nasbench201 import _parse

        arch = _parse(arch)
    values = [int(v) for v in arch]
    if len(values) != len(_EDGES) or not all(0 <= v < len(_HWNAS_OPS) for v in values):
        raise HwnasError(f"NAS-Bench-201 arch needs {len(_EDGES)} choices in 0..{len(_HWNAS_OPS) - 1}, got {arch}")
    return {key: NNI_OPS[_HWNAS_OPS[v]] for key, v in zip(_edge_keys(label), values)}


def from_nni_sample(sample: Mapping[str, str], label: str = "cell") -> Arch:
    """NNI's sample dict (keys with or without the cell label, extra keys ignored) as an hwnas arch."""
    arch = []
    for key, bare in zip(_edge_keys(label), _edge_keys("")):
        value = sample.get(key, sample.get(bare))
        if value is None:
            present = ", ".join(sorted(map(str, sample))) or "none"
            raise HwnasError(f"NNI NAS-Bench-201 sample lacks edge {key!r}; keys present: {present}")
        if value not in _FROM_NNI:
            raise HwnasError(f"NNI NAS-Bench-201 sample: unknown operation {value!r} on {key!r}; "
                             f"valid: {', '.join(_FROM_NNI)}")
        arch.append(_FROM_NNI[value])
    return tuple(arch)


def from_nni_samples(samples: Iterable[Mapping[str, str]], label: str = "cell") -> np.ndarray:
    """Many NNI samples as an (n, 6) int matrix, the batched form every hwnas oracle takes."""
    rows = [from_nni_sample(s, label) for s in samples]
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), len(_EDGES))
