"""FBNet (Wu et al., 2019) as HW-NAS-Bench (Li et al., 2021) defines it: 22 layers x 9 blocks, 9^22 nets.

An arch is the 22 block indices in the data's `op_vocab` order. The text form groups the block
names by stage, ``k3_e1|k3_e6,skip,k5_e1,k3_e3|...``; the data's form is ``{"op_idx_list": [...]}``.
HELP's data holds 5,000 sampled archs; `table_index` finds them by hash.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np

from hwnas.core.errors import HwnasError, whole_number
from hwnas.core.records import DeviceTable, ReferenceRows
from hwnas.core.space import Arch, Dimension, SearchSpace, as_matrix, text_or_json_form
from hwnas.search_spaces import _help_data

# The network module imports torch; keep these in sync with search_spaces/fbnet_network.py (a test checks).
OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
NUM_LAYERS = 22


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, dict[Arch, int]]:
    raw = _help_data.help_archs("fbnet")
    if tuple(raw.get("op_vocab", ())) != OPS:
        raise HwnasError(f"corrupt data file help/fbnet/archs.json.gz: op_vocab {raw.get('op_vocab')} is not "
                         f"{list(OPS)}")
    try:
        archs = np.array([a["op_idx_list"] for a in raw["archs"]], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise HwnasError(f"corrupt data file help/fbnet/archs.json.gz: {exc}") from None
    if archs.shape != (5000, NUM_LAYERS) or archs.min() < 0 or archs.max() >= len(OPS):
        raise HwnasError("corrupt data file help/fbnet/archs.json.gz: expected 5,000 lists of 22 indices 0..8")
    archs.setflags(write=False)
    return archs, {tuple(int(v) for v in row): i for i, row in enumerate(archs)}


class FBNet(SearchSpace):
    """HW-NAS-Bench's FBNet space with the CIFAR-100 network (32x32 input, 100 classes)."""

    name = "fbnet"
    contract_device = "raspi4"   # HELP meta-test device (unseen by meta-trained oracles): the contract suites run here

    def __init__(self, num_classes: int = 100):
        self.num_classes = whole_number("space fbnet", "num_classes", num_classes, 1)
        self._dims = [Dimension(f"layer_{i}", OPS) for i in range(NUM_LAYERS)]

    def dimensions(self) -> list[Dimension]:
        return self._dims

    @property
    def size(self) -> int:
        return len(OPS) ** NUM_LAYERS

    # ---------------------------------------------------------------- text and data forms
    def to_string(self, arch: Arch) -> str:
        names = [OPS[i] for i in arch]
        stages, start = [], 0
        for n in STAGE_LAYERS:
            stages.append(",".join(names[start:start + n]))
            start += n
        return "|".join(stages)

    def from_string(self, text: str) -> Arch:
        """Parse the text form (or the data's JSON form), naming the field that is wrong."""
        text, form = text_or_json_form(text, "FBNet")
        if form is not None:
            return self.from_data_form(form)
        stages = text.split("|")
        if len(stages) != len(STAGE_LAYERS):
            raise HwnasError(f"malformed FBNet string {text!r}: expected {len(STAGE_LAYERS)} '|'-separated stages "
                             f"of {', '.join(map(str, STAGE_LAYERS))} layers, got {len(stages)}")
        arch: list[int] = []
        for s, (stage, expected) in enumerate(zip(stages, STAGE_LAYERS)):
            names = [n.strip() for n in stage.split(",")]
            if len(names) != expected:
                raise HwnasError(f"malformed FBNet string: stage {s} has {len(names)} layers, expected {expected}")
            for name in names:
                if name not in OPS:
                    raise HwnasError(f"malformed FBNet string: unknown block {name!r} at layer {len(arch)}; "
                                     f"valid: {', '.join(OPS)}")
                arch.append(OPS.index(name))
        return tuple(arch)

    def to_data_form(self, arch: Arch) -> dict:
        return {"op_idx_list": [int(i) for i in arch]}

    def from_data_form(self, form: dict) -> Arch:
        if not isinstance(form, dict) or "op_idx_list" not in form:
            raise HwnasError(f"FBNet data form must be {{\"op_idx_list\": [22 ints 0..{len(OPS) - 1}]}}, got {form!r}")
        ops = form["op_idx_list"]
        if not isinstance(ops, list) or len(ops) != NUM_LAYERS:
            raise HwnasError(f"FBNet op_idx_list must be a list of {NUM_LAYERS} ints, got {ops!r}")
        for i, v in enumerate(ops):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < len(OPS):
                raise HwnasError(f"FBNet op_idx_list[{i}]={v!r} not allowed; valid: 0..{len(OPS) - 1} "
                                 f"({', '.join(OPS)})")
        return tuple(ops)

    # ---------------------------------------------------------------- HELP's 5,000 archs
    def table_archs(self) -> np.ndarray:
        return _table()[0]

    def table_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        lookup = _table()[1]
        return np.fromiter((lookup.get(tuple(int(v) for v in row), -1) for row in as_matrix(archs)),
                           dtype=np.int64)

    def latency_tables(self) -> Mapping[str, DeviceTable]:
        """HELP's 27 devices on its 5,000 archs."""
        return _help_data.help_tables("fbnet", _help_data.HELP_SAMPLES, "fbnet",
                                      "FBNet, HELP's 27 devices on 5,000 sampled architectures")

    def reference_rows(self) -> ReferenceRows:
        return _help_data.reference_rows("fbnet")

    # ---------------------------------------------------------------- network
    def build(self, arch: Arch):
        from hwnas.search_spaces.fbnet_network import build_fbnet_network

        return build_fbnet_network([OPS[i] for i in self.validate(arch)], self.num_classes)

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        return (batch_size, 3, 32, 32)

    def layer_specs(self, arch: Arch) -> list:
        """The network's operators with their input shapes (for per-operator latency tables)."""
        from hwnas.search_spaces.fbnet_network import layer_specs

        return layer_specs([OPS[i] for i in self.validate(arch)], self.num_classes)

    def build_operator(self, spec):
        """The module of one operator of `operators()` (torch imported lazily)."""
        from hwnas.search_spaces.fbnet_network import build_layer

        return build_layer(spec)

    def operators(self) -> list:
        """Every distinct operator (block at an input shape) of the space, stem and head included."""
        return list(_operator_ids(self.num_classes)[0])

    def operator_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """(n, 24) indices into `operators()` of each arch's stem, 22 blocks and head (batched)."""
        specs, ids = _operator_ids(self.num_classes)
        matrix = as_matrix(archs)
        out = np.empty((len(matrix), NUM_LAYERS + 2), dtype=np.int64)
        out[:, 0], out[:, -1] = 0, len(specs) - 1
        if len(matrix):
            out[:, 1:-1] = ids[np.arange(NUM_LAYERS), matrix]
        return out


@functools.lru_cache(maxsize=None)
def _operator_ids(num_classes: int) -> tuple[tuple, np.ndarray]:
    """(distinct operator specs, (22, 9) spec index of block op at layer position)."""
    from hwnas.search_spaces.fbnet_network import head_spec, layer_spec, stem_spec

    specs: dict = {stem_spec(): 0}
    ids = np.empty((NUM_LAYERS, len(OPS)), dtype=np.int64)
    for position in range(NUM_LAYERS):
        for o, op in enumerate(OPS):
            ids[position, o] = specs.setdefault(layer_spec(position, op), len(specs))
    specs[head_spec(num_classes)] = len(specs)
    return tuple(specs), ids
