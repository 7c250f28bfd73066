"""OFA-MobileNetV3 (Cai et al., "Once-for-All", ICLR 2020): the ``ofa_mbv3_d234_e346_k357_w1.2`` subnets.

An arch is 46 choice indices: kernel size (3/5/7) of 20 block slots, expand ratio (3/4/6) of the same
slots, depth (2/3/4) of 5 stages, and input resolution (128..224, step 4, as in HELP's data). Slot j
of stage s (slot 4s + j) is used when j < depth[s]; `canonical` zeroes the unused ones, so equal
subnets are equal tuples. Text form: ``r176:k5e3,k3e3|k3e6,k3e6,k3e4|...`` (one group per stage,
its block count is the depth); data form: ``{"ks": [20], "e": [20], "d": [5], "r": int}``.
"""

from __future__ import annotations

import functools
import re
from typing import Mapping, Sequence

import numpy as np

from hwnas.core.errors import HwnasError, whole_number
from hwnas.core.records import DeviceTable, ReferenceRows
from hwnas.core.space import Arch, Dimension, SearchSpace, as_matrix, text_or_json_form
from hwnas.search_spaces import _help_data

KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
RESOLUTIONS = tuple(range(128, 225, 4))
STAGES, SLOTS_PER_STAGE = 5, 4
SLOTS = STAGES * SLOTS_PER_STAGE
D_OFFSET, R_COLUMN = 2 * SLOTS, 2 * SLOTS + STAGES        # column of d[0], of r
N_DIMS = R_COLUMN + 1                                       # 46
_SLOT_POSITION = np.tile(np.arange(SLOTS_PER_STAGE), STAGES)  # j of each slot
_SLOT_STAGE = np.repeat(np.arange(STAGES), SLOTS_PER_STAGE)   # s of each slot
_BLOCK = re.compile(r"^k(\d+)e(\d+)$")


def active_slots(matrix: np.ndarray) -> np.ndarray:
    """(n, 20) bool: which block slots each arch uses."""
    depth = np.asarray(DEPTHS)[matrix[:, D_OFFSET:R_COLUMN]]
    return _SLOT_POSITION[None, :] < depth[:, _SLOT_STAGE]


def canonical_matrix(matrix: np.ndarray) -> np.ndarray:
    """Batched canonical form: kernel and expand indices of unused slots set to 0."""
    out = np.array(matrix, dtype=np.int64, copy=True)
    unused = ~active_slots(out)
    out[:, :SLOTS][unused] = 0
    out[:, SLOTS:2 * SLOTS][unused] = 0
    return out


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, dict[Arch, int]]:
    rows = []
    for i, form in enumerate(_help_data.help_archs("ofa")["archs"]):
        try:
            rows.append(_from_data_form(form))
        except HwnasError as exc:
            raise HwnasError(f"corrupt data file help/ofa/archs.json.gz, arch {i}: {exc}") from None
    archs = canonical_matrix(np.array(rows, dtype=np.int64))
    archs.setflags(write=False)
    return archs, {tuple(int(v) for v in row): i for i, row in enumerate(archs)}


def _index_of(value, choices: tuple, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value not in choices:
        allowed = "128..224 step 4" if choices is RESOLUTIONS else ", ".join(map(str, choices))
        raise HwnasError(f"OFA-MobileNetV3 {field}={value!r} not allowed; valid: {allowed}")
    return choices.index(int(value))


def _from_data_form(form) -> Arch:
    if not isinstance(form, dict) or not {"ks", "e", "d", "r"} <= set(form):
        raise HwnasError('OFA-MobileNetV3 data form must be {"ks": [20 of 3/5/7], "e": [20 of 3/4/6], '
                         f'"d": [5 of 2/3/4], "r": 128..224 step 4}}, got {form!r}')
    arch: list[int] = []
    for field, length, choices in (("ks", SLOTS, KERNELS), ("e", SLOTS, EXPANDS), ("d", STAGES, DEPTHS)):
        values = form[field]
        if not isinstance(values, (list, tuple)) or len(values) != length:
            raise HwnasError(f"OFA-MobileNetV3 field {field} must be a list of {length} values from "
                             f"{', '.join(map(str, choices))}, got {values!r}")
        arch += [_index_of(v, choices, f"{field}[{i}]") for i, v in enumerate(values)]
    resolution = form["r"][0] if isinstance(form["r"], list) and len(form["r"]) == 1 else form["r"]
    arch.append(_index_of(resolution, RESOLUTIONS, "r"))
    return tuple(arch)


class OfaMobileNetV3(SearchSpace):
    """OFA-MobileNetV3 subnets at width 1.2 (ImageNet, 1000 classes)."""

    name = "ofa_mbv3"
    contract_device = "titan_rtx_64"   # HELP meta-test device (unseen by meta-trained oracles): the contract suites run here

    def __init__(self, num_classes: int = 1000):
        self.num_classes = whole_number("space ofa_mbv3", "num_classes", num_classes, 1)
        self._dims = ([Dimension(f"ks_{i}", KERNELS) for i in range(SLOTS)]
                      + [Dimension(f"e_{i}", EXPANDS) for i in range(SLOTS)]
                      + [Dimension(f"d_{s}", DEPTHS) for s in range(STAGES)]
                      + [Dimension("r", RESOLUTIONS)])

    def dimensions(self) -> list[Dimension]:
        return self._dims

    @property
    def size(self) -> int:
        per_stage = sum((len(KERNELS) * len(EXPANDS)) ** d for d in DEPTHS)
        return per_stage ** STAGES * len(RESOLUTIONS)

    def canonical(self, arch: Arch) -> Arch:
        return tuple(int(v) for v in canonical_matrix(as_matrix([arch]))[0])

    def sample(self, rng: np.random.Generator, n: int = 1) -> list[Arch]:
        sizes = np.array([len(d) for d in self._dims])
        draws = canonical_matrix((rng.random((n, len(sizes))) * sizes).astype(np.int64))
        return [tuple(int(v) for v in row) for row in draws]

    # ---------------------------------------------------------------- readable forms
    def to_data_form(self, arch: Arch) -> dict:
        arch = self.canonical(arch)
        return {"ks": [KERNELS[i] for i in arch[:SLOTS]], "e": [EXPANDS[i] for i in arch[SLOTS:D_OFFSET]],
                "d": [DEPTHS[i] for i in arch[D_OFFSET:R_COLUMN]], "r": RESOLUTIONS[arch[R_COLUMN]]}

    def from_data_form(self, form: dict) -> Arch:
        return self.canonical(_from_data_form(form))

    def to_string(self, arch: Arch) -> str:
        form = self.to_data_form(arch)
        stages = [",".join(f"k{form['ks'][4 * s + j]}e{form['e'][4 * s + j]}" for j in range(form["d"][s]))
                  for s in range(STAGES)]
        return f"r{form['r']}:" + "|".join(stages)

    def from_string(self, text: str) -> Arch:
        """Parse the text form (or the data's JSON form), naming the field that is wrong."""
        text, form = text_or_json_form(text, "OFA-MobileNetV3")
        if form is not None:
            return self.from_data_form(form)
        head, sep, body = text.partition(":")
        if not sep or not head.startswith("r") or not head[1:].isdigit():
            raise HwnasError(f"malformed OFA-MobileNetV3 string {text!r}: expected 'r<resolution>:' then 5 "
                             "'|'-separated stages of 2-4 blocks 'k<3|5|7>e<3|4|6>', e.g. "
                             "r224:k3e4,k5e6|k3e3,k7e4,k5e6|...")
        _index_of(int(head[1:]), RESOLUTIONS, "resolution r")
        stages = body.split("|")
        if len(stages) != STAGES:
            raise HwnasError(f"malformed OFA-MobileNetV3 string: {len(stages)} stages, expected {STAGES}")
        ks, e, d = [KERNELS[0]] * SLOTS, [EXPANDS[0]] * SLOTS, []
        for s, stage in enumerate(stages):
            blocks = [b.strip() for b in stage.split(",")]
            if len(blocks) not in DEPTHS:
                raise HwnasError(f"OFA-MobileNetV3 stage {s} has {len(blocks)} blocks; allowed depths: "
                                 f"{', '.join(map(str, DEPTHS))}")
            d.append(len(blocks))
            for j, block in enumerate(blocks):
                match = _BLOCK.match(block)
                if not match:
                    raise HwnasError(f"malformed OFA-MobileNetV3 block {block!r} in stage {s}: expected "
                                     f"k<kernel>e<expand> with kernel {'/'.join(map(str, KERNELS))} and "
                                     f"expand {'/'.join(map(str, EXPANDS))}")
                ks[4 * s + j], e[4 * s + j] = int(match.group(1)), int(match.group(2))
                _index_of(ks[4 * s + j], KERNELS, f"kernel size of stage {s} block {j}")
                _index_of(e[4 * s + j], EXPANDS, f"expand ratio of stage {s} block {j}")
        return self.from_data_form({"ks": ks, "e": e, "d": d, "r": int(head[1:])})

    # ---------------------------------------------------------------- encodings
    def encode(self, archs: Sequence[Arch] | np.ndarray, kind: str = "onehot") -> np.ndarray:
        """`onehot`: 160 values (ks 60, e 60, d 15, r 25), unused slots all zero; `ofa`: OFA's 128."""
        matrix = canonical_matrix(as_matrix(archs)) if len(archs) else np.zeros((0, N_DIMS), np.int64)
        n, rows = len(matrix), np.arange(len(matrix))[:, None]
        active = active_slots(matrix).astype(np.float32)
        if kind == "onehot":
            out = np.zeros((n, 2 * SLOTS * 3 + STAGES * 3 + len(RESOLUTIONS)), dtype=np.float32)
            slot3 = np.arange(SLOTS) * 3
            out[rows, slot3 + matrix[:, :SLOTS]] = active
            out[rows, 3 * SLOTS + slot3 + matrix[:, SLOTS:D_OFFSET]] = active
            out[rows, 6 * SLOTS + np.arange(STAGES) * 3 + matrix[:, D_OFFSET:R_COLUMN]] = 1.0
            out[rows[:, 0], 6 * SLOTS + 3 * STAGES + matrix[:, R_COLUMN]] = 1.0
            return out
        if kind == "ofa":
            # Once-for-All's accuracy-predictor features: ks one-hots (60), e one-hots (60), r one-hot (8).
            out = np.zeros((n, 128), dtype=np.float32)
            slot3 = np.arange(SLOTS) * 3
            out[rows, slot3 + matrix[:, :SLOTS]] = active
            out[rows, 3 * SLOTS + slot3 + matrix[:, SLOTS:D_OFFSET]] = active
            resolution = np.asarray(RESOLUTIONS)[matrix[:, R_COLUMN]]
            out[rows[:, 0], 6 * SLOTS + (resolution - 112) // 16] = 1.0
            return out
        raise HwnasError(f"{self.name}: unknown encoding {kind!r}; valid: onehot, ofa")

    # ---------------------------------------------------------------- HELP's 5,000 archs
    def table_archs(self) -> np.ndarray:
        return _table()[0]

    def table_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        matrix = as_matrix(archs)
        if matrix.size == 0:
            return np.zeros(0, dtype=np.int64)
        lookup = _table()[1]
        return np.fromiter((lookup.get(tuple(int(v) for v in row), -1) for row in canonical_matrix(matrix)),
                           dtype=np.int64)

    def latency_tables(self) -> Mapping[str, DeviceTable]:
        """HELP's 12 GPU settings on its 5,000 subnets."""
        return _help_data.help_tables("ofa", _help_data.HELP_SAMPLES, "ofa",
                                      "OFA-MobileNetV3, HELP's 12 GPU settings on 5,000 sampled subnets")

    def reference_rows(self) -> ReferenceRows:
        return _help_data.reference_rows("ofa")

    # ---------------------------------------------------------------- network
    def build(self, arch: Arch):
        from hwnas.search_spaces.ofa_network import build_ofa_subnet

        form = self.to_data_form(self.validate(arch))
        return build_ofa_subnet(form["ks"], form["e"], form["d"], form["r"], self.num_classes)

    def input_shape(self, arch: Arch, batch_size: int = 1) -> tuple[int, ...]:
        resolution = RESOLUTIONS[int(arch[R_COLUMN])]
        return (batch_size, 3, resolution, resolution)

    def layer_specs(self, arch: Arch) -> list:
        """The subnet's operators with their input shapes (for per-operator latency tables)."""
        from hwnas.search_spaces.ofa_network import layer_specs

        form = self.to_data_form(self.validate(arch))
        return layer_specs(form["ks"], form["e"], form["d"], form["r"], self.num_classes)

    def build_operator(self, spec):
        """The module of one operator of `operators()` (torch imported lazily)."""
        from hwnas.search_spaces.ofa_network import build_layer

        return build_layer(spec)

    def operators(self) -> list:
        """Every distinct operator (block at an input shape) of the space, stems and heads included."""
        return list(_operator_ids(self.num_classes)[0])

    def operator_index(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """(n, 22) indices into `operators()`: stem, 20 block slots (-1 where unused), head (batched)."""
        _, stem_ids, block_ids, head_ids = _operator_ids(self.num_classes)
        matrix = canonical_matrix(as_matrix(archs)) if len(archs) else np.zeros((0, N_DIMS), np.int64)
        r = matrix[:, R_COLUMN]
        blocks = block_ids[r[:, None], np.arange(SLOTS), matrix[:, :SLOTS], matrix[:, SLOTS:D_OFFSET]]
        blocks = np.where(active_slots(matrix), blocks, -1)
        return np.concatenate([stem_ids[r][:, None], blocks, head_ids[r][:, None]], axis=1)


@functools.lru_cache(maxsize=None)
def _operator_ids(num_classes: int) -> tuple[tuple, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct operator specs; spec index of the stem per resolution, of each (r, slot, ks, e), of the head."""
    from hwnas.search_spaces.ofa_network import block_spec, head_spec, stem_spec

    specs: dict = {}
    stem_ids = np.empty(len(RESOLUTIONS), dtype=np.int64)
    head_ids = np.empty(len(RESOLUTIONS), dtype=np.int64)
    block_ids = np.empty((len(RESOLUTIONS), SLOTS, len(KERNELS), len(EXPANDS)), dtype=np.int64)
    for ri, resolution in enumerate(RESOLUTIONS):
        stem_ids[ri] = specs.setdefault(stem_spec(resolution), len(specs))
        for slot in range(SLOTS):
            stage, j = divmod(slot, SLOTS_PER_STAGE)
            for ki, kernel in enumerate(KERNELS):
                for ei, expand in enumerate(EXPANDS):
                    spec = block_spec(resolution, stage, j == 0, kernel, expand)
                    block_ids[ri, slot, ki, ei] = specs.setdefault(spec, len(specs))
        head_ids[ri] = specs.setdefault(head_spec(resolution, num_classes), len(specs))
    return tuple(specs), stem_ids, block_ids, head_ids
