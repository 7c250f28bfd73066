"""FBNet space (HW-NAS-Bench's CIFAR-100 setting): table, forms, errors, network and its operators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwnas.search_spaces import _help_data
from hwnas.core.errors import HwnasError
from hwnas.measure.model_stats import flop_count, parameter_count
from hwnas.search_spaces import fbnet_network
from hwnas.search_spaces.fbnet import OPS, FBNet
from space_checks import build_and_forward


@pytest.fixture(scope="module")
def fb() -> FBNet:
    return FBNet()


def test_vocabulary_matches_data_and_network(fb):
    assert OPS == tuple(_help_data.help_archs("fbnet")["op_vocab"]) == fbnet_network.OPS
    assert len(fb.dimensions()) == 22 and fb.size == 9 ** 22
    assert fb.encode(fb.table_archs()[:3]).shape == (3, 198)


def test_table_matches_data_and_indexes_back(fb, rng):
    table = fb.table_archs()
    raw = _help_data.help_archs("fbnet")["archs"]
    assert table.shape == (5000, 22)
    assert np.array_equal(fb.table_index(table), np.arange(5000))
    for row in (0, 17, 4999):
        assert fb.to_data_form(tuple(table[row])) == {"op_idx_list": raw[row]["op_idx_list"]}
        assert fb.to_string(tuple(table[row])).replace("|", ",").split(",") == raw[row]["arch_str"]
    assert (fb.table_index(fb.sample(rng, 100)) == -1).all()


def test_forms_round_trip(fb, rng):
    for a in fb.sample(rng, 100):
        assert fb.from_string(fb.to_string(a)) == a
        assert fb.from_string(json.dumps(fb.to_data_form(a))) == a


@pytest.mark.parametrize("text,needle", [
    ("k3_e1|k3_e1", "expected 7"),
    ("k3_e1|k3_e1,k3_e1,k3_e1|" + "|".join(["k3_e1,k3_e1,k3_e1,k3_e1"] * 4) + "|skip", "stage 1 has 3 layers"),
    ("k7_e1|" + "|".join(["k3_e1,k3_e1,k3_e1,k3_e1"] * 5) + "|skip", "unknown block 'k7_e1'"),
    ('{"op_idx_list": [0, 1]}', "22 ints"),
    ('{"op_idx_list": [9' + ", 0" * 21 + "]}", "op_idx_list[0]=9"),
    ('{"ops": []}', "op_idx_list"),
])
def test_malformed_input_names_field_and_choices(fb, text, needle):
    with pytest.raises(HwnasError) as info:
        fb.from_string(text)
    assert needle in str(info.value)


def test_macro_structure_is_hw_nas_bench_cifar():
    sizes = [s[0] for s in fbnet_network.LAYER_SHAPES]
    assert sizes[:7] == [32] * 6 + [16] and sizes[-1] == 4 and fbnet_network.FINAL_SIZE == 4
    assert [s[3] for s in fbnet_network.LAYER_SHAPES].count(2) == 3
    assert fbnet_network.LAYER_SHAPES[-1][1:3] == (184, 352)


def _hand_params(ops) -> int:
    """Parameter count from the block definitions (conv weights / groups, BN 2c, classifier)."""
    total = 27 * 16 + 32 + 352 * 1504 + 2 * 1504 + 1504 * 100 + 100
    for (size, c_in, c_out, stride), op in zip(fbnet_network.LAYER_SHAPES, ops):
        if op == "skip":
            total += 0 if (stride == 1 and c_in == c_out) else c_in * c_out + 2 * c_out
            continue
        k, e, g = fbnet_network.op_params(op)
        mid = c_in * e
        total += c_in * mid // g + 2 * mid + k * k * mid + 2 * mid + mid * c_out // g + 2 * c_out
    return total


@pytest.mark.parametrize("op", ["k3_e1", "k5_e1_g2", "k3_e6", "skip"])
def test_parameter_count_matches_definition(fb, op):
    ops = [op] * 22
    assert parameter_count(fb.build(tuple(OPS.index(o) for o in ops))) == _hand_params(ops)


def test_network_runs_and_uses_residuals(fb):
    arch = tuple(fb.table_archs()[0])
    net = fb.build(arch).eval()
    with torch.inference_mode():
        out = net(torch.randn(fb.input_shape(arch, 2)))
    assert out.shape == (2, 100) and torch.isfinite(out).all()
    blocks = [m for m in net if isinstance(m, fbnet_network.ConvBlock)]
    assert any(b.residual for b in blocks) and not all(b.residual for b in blocks)


def test_operators_add_up_to_the_network(fb, rng):
    operators = fb.operators()
    assert len(operators) == len({s.key for s in operators})
    for arch in fb.sample(rng, 3):
        ids = fb.operator_index([arch])[0]
        used = [operators[i] for i in ids]
        assert [s.key for s in used] == [s.key for s in fb.layer_specs(arch)]
        parts = [fb.build_operator(s) for s in used]
        net = fb.build(arch)
        assert sum(parameter_count(p) for p in parts) == parameter_count(net)
        assert sum(flop_count(p, s.input_shape) for p, s in zip(parts, used)) == flop_count(net, (1, 3, 32, 32))


def test_largest_network_builds_and_runs(fb):
    arch = (OPS.index("k5_e6"),) * 22
    out = build_and_forward(fb, arch)  # speed: experiments/bench_speed.py
    assert out.shape == (1, fb.num_classes) and torch.isfinite(out).all()
