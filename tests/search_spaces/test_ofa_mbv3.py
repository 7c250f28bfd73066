"""OFA-MobileNetV3 space: table lookup, canonical form, encodings, text/data forms, errors, network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hwnas import data
from hwnas.search_spaces import _help_data
from hwnas.core.errors import HwnasError
from hwnas.measure.model_stats import flop_count, parameter_count
from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3
from space_checks import build_and_forward

HELP_PICKS = sorted((data.data_dir() / "help" / "ofa" / "architecture_config" / "gpu_titan_rtx_64").glob("*.json"))


@pytest.fixture(scope="module")
def ofa() -> OfaMobileNetV3:
    return OfaMobileNetV3()


def test_dimensions_and_size(ofa):
    dims = ofa.dimensions()
    assert len(dims) == 46
    assert [len(d) for d in dims] == [3] * 40 + [3] * 5 + [25]
    assert dims[-1].choices[0] == 128 and dims[-1].choices[-1] == 224
    assert ofa.size == (9 ** 2 + 9 ** 3 + 9 ** 4) ** 5 * 25
    assert not ofa.exhaustively_tabled


def test_table_rows_match_the_data_and_index_back(ofa):
    table = ofa.table_archs()
    assert table.shape == (5000, 46)
    assert np.array_equal(ofa.table_index(table), np.arange(5000))
    raw = _help_data.help_archs("ofa")["archs"]
    for row in (0, 1, 2500, 4999):
        form = ofa.to_data_form(tuple(table[row]))
        assert form["d"] == raw[row]["d"] and form["r"] == raw[row]["r"]
        for stage, depth in enumerate(form["d"]):
            used = slice(4 * stage, 4 * stage + depth)
            assert form["ks"][used] == raw[row]["ks"][used] and form["e"][used] == raw[row]["e"][used]


def test_unused_slots_do_not_change_the_architecture(ofa, rng):
    arch = list(ofa.table_archs()[7])
    depth_of_stage0 = ofa.to_data_form(tuple(arch))["d"][0]
    variant = list(arch)
    if depth_of_stage0 < 4:
        variant[3] = 2   # kernel 7 in slot 3, unused when stage 0 has depth < 4
        variant[23] = 2  # expand 6 in the same slot
    assert ofa.canonical(variant) == ofa.canonical(arch)
    assert ofa.table_index([variant])[0] == 7
    for a in ofa.sample(rng, 50):
        assert ofa.canonical(a) == a
    samples = ofa.sample(np.random.default_rng(1), 200)
    assert (ofa.table_index(samples) == -1).all()  # 5,000 of 5e20: a random subnet is not tabled


def _reference_ofa_features(form: dict) -> np.ndarray:
    """OFA's accuracy-predictor encoding written out from its definition, slot by slot."""
    ks, e = list(form["ks"]), list(form["e"])
    for stage, depth in enumerate(form["d"]):
        for j in range(4 * stage + depth, 4 * stage + 4):
            ks[j] = e[j] = 0
    ks_hot, e_hot, r_hot = [0.0] * 60, [0.0] * 60, [0.0] * 8
    for i in range(20):
        if ks[i]:
            ks_hot[3 * i + {3: 0, 5: 1, 7: 2}[ks[i]]] = 1.0
            e_hot[3 * i + {3: 0, 4: 1, 6: 2}[e[i]]] = 1.0
    r_hot[(form["r"] - 112) // 16] = 1.0
    return np.array(ks_hot + e_hot + r_hot)


def test_ofa_encoding_matches_the_predictor_definition(ofa):
    raw = _help_data.help_archs("ofa")["archs"]
    rows = [0, 3, 99, 1234, 4999]
    encoded = ofa.encode(ofa.table_archs()[rows], "ofa")
    assert encoded.shape == (5, 128)
    for got, row in zip(encoded, rows):
        assert np.array_equal(got, _reference_ofa_features(raw[row]))


def test_onehot_zeroes_unused_slots(ofa):
    archs = ofa.table_archs()[:20]
    onehot = ofa.encode(archs)
    assert onehot.shape == (20, 160)
    depths = np.array([ofa.to_data_form(tuple(a))["d"] for a in archs])
    assert np.array_equal(onehot.sum(axis=1), 2 * depths.sum(axis=1) + 5 + 1)
    variant = np.array(archs[:1])
    variant[0, :20] = 2  # every slot kernel 7, used or not
    changed = ofa.encode(variant)[0] != onehot[0]
    active = np.zeros(20, bool)
    for stage, depth in enumerate(depths[0]):
        active[4 * stage:4 * stage + depth] = True
    assert not changed[:60].reshape(20, 3)[~active].any()
    with pytest.raises(HwnasError, match="onehot, ofa"):
        ofa.encode(archs, "graph")


def test_text_and_data_forms_round_trip(ofa, rng):
    for a in ofa.sample(rng, 100) + [tuple(r) for r in ofa.table_archs()[:20]]:
        text = ofa.to_string(a)
        assert ofa.from_string(text) == a
        assert ofa.from_data_form(ofa.to_data_form(a)) == a
        assert ofa.from_string(json.dumps(ofa.to_data_form(a))) == a
    assert ofa.to_string(ofa.table_archs()[0]).startswith("r204:")


def test_help_picks_parse(ofa):
    assert len(HELP_PICKS) == 3
    for path in HELP_PICKS:
        form = json.loads(path.read_text())
        arch = ofa.from_data_form(form)
        assert ofa.to_data_form(arch)["r"] == form["r"] and ofa.to_data_form(arch)["d"] == form["d"]


@pytest.mark.parametrize("bad,field", [
    ({"ks": [3] * 19, "e": [3] * 20, "d": [2] * 5, "r": 128}, "ks"),
    ({"ks": [3] * 20, "e": [5] * 20, "d": [2] * 5, "r": 128}, "e[0]=5"),
    ({"ks": [3] * 20, "e": [3] * 20, "d": [2, 3, 4, 5, 2], "r": 128}, "d[3]=5"),
    ({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 130}, "r=130"),
    ({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5}, "data form"),
])
def test_bad_data_forms_name_the_field_and_choices(ofa, bad, field):
    with pytest.raises(HwnasError) as info:
        ofa.from_data_form(bad)
    assert field in str(info.value)
    assert "valid" in str(info.value) or "must be" in str(info.value)


@pytest.mark.parametrize("text,needle", [
    ("r226:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "128..224 step 4"),
    ("r224:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "expected 5"),
    ("r224:k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "allowed depths: 2, 3, 4"),
    ("r224:k9e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "valid: 3, 5, 7"),
    ("r224:k3x3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "k<kernel>e<expand>"),
    ("224:k3e3", "r<resolution>"),
])
def test_bad_strings_name_the_problem(ofa, text, needle):
    with pytest.raises(HwnasError, match=None) as info:
        ofa.from_string(text)
    assert needle in str(info.value)


def _hand_param_count(ofa, arch) -> int:
    """Parameters of the subnet from layer shapes (conv: k*k*cin*cout/groups, BN: 2c, SE convs with bias)."""
    def div8(v):
        r = max(8, int(v + 4) // 8 * 8)
        return r + 8 if r < 0.9 * v else r

    form = ofa.to_data_form(arch)
    total = 27 * 24 + 2 * 24 + (9 * 24 + 2 * 24) + (24 * 24 + 2 * 24)  # stem, first block dw + pw
    c_in, widths, se = 24, (32, 48, 96, 136, 192), (False, True, False, True, True)
    for stage, depth in enumerate(form["d"]):
        for j in range(depth):
            k, e = form["ks"][4 * stage + j], form["e"][4 * stage + j]
            mid = div8(round(c_in * e))
            total += c_in * mid + 2 * mid + k * k * mid + 2 * mid + mid * widths[stage] + 2 * widths[stage]
            if se[stage]:
                red = div8(mid // 4)
                total += mid * red + red + red * mid + mid
            c_in = widths[stage]
    return total + 192 * 1152 + 2 * 1152 + 1152 * 1536 + 1536 * 1000 + 1000


def test_network_matches_hand_count_and_runs(ofa, rng):
    torch.set_num_threads(1)
    for arch in ofa.sample(rng, 3) + [tuple(ofa.table_archs()[0])]:
        net = ofa.build(arch).eval()
        assert parameter_count(net) == _hand_param_count(ofa, arch)
        with torch.inference_mode():
            out = net(torch.randn(ofa.input_shape(arch, 2)))
        assert out.shape == (2, 1000) and torch.isfinite(out).all()


def test_operators_add_up_to_the_network(ofa, rng):
    operators = ofa.operators()
    assert len(operators) == len({s.key for s in operators})
    for arch in ofa.sample(rng, 2):
        ids = ofa.operator_index([arch])[0]
        used = [operators[i] for i in ids if i >= 0]
        assert [s.key for s in used] == [s.key for s in ofa.layer_specs(arch)]
        parts = [ofa.build_operator(s) for s in used]
        net = ofa.build(arch)
        assert sum(parameter_count(p) for p in parts) == parameter_count(net)
        assert sum(flop_count(p, s.input_shape) for p, s in zip(parts, used)) == flop_count(net, ofa.input_shape(arch))


def test_largest_subnet_builds_and_runs(ofa):
    arch = ofa.from_string("r224:" + "|".join([",".join(["k7e6"] * 4)] * 5))
    out = build_and_forward(ofa, arch)  # speed: experiments/bench_speed.py
    assert out.shape == (1, ofa.num_classes) and torch.isfinite(out).all()
