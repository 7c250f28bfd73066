"""NAS-Bench-201 space: string and index both ways, operations, encodings, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.evaluators.nb201_accuracy import nb201_accuracy
from hwnas.core.errors import HwnasError
from hwnas.search_spaces.nasbench201 import OPS, arch_strings, pruned

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_every_index_round_trips_through_string_and_arch(nb201):
    strings = arch_strings()
    archs = nb201.from_index(np.arange(15_625))
    assert [nb201.to_string(a) for a in archs] == list(strings)
    np.testing.assert_array_equal(nb201.index(archs), np.arange(15_625))
    assert len(set(archs)) == 15_625


def test_parse_matches_the_official_string(nb201):
    arch = nb201.from_string(BEST_CIFAR10)
    assert arch == (3, 3, 3, 1, 3, 3)
    assert nb201.to_string(arch) == BEST_CIFAR10
    accuracy = nb201_accuracy("cifar10")[nb201.index([arch])[0]]
    assert accuracy == pytest.approx(94.37, abs=0.01)  # the best CIFAR-10 cell of the benchmark


@pytest.mark.parametrize("text, token", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|conv_5x5~1|+|skip_connect~0|nor_conv_3x3~1|none~2|", "conv_5x5"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~2|+|skip_connect~0|nor_conv_3x3~1|none~2|", "nor_conv_3x3~2"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|none~2|", "needs 2 inputs"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|", "3 '\\+'-separated"),
    ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "wrapped in"),
    ("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|", "'nor_conv_3x3'"),
])
def test_malformed_strings_name_the_wrong_token(nb201, text, token):
    with pytest.raises(HwnasError, match=token):
        nb201.from_string(text)


def test_index_out_of_range(nb201):
    with pytest.raises(HwnasError, match="15625 out of range"):
        nb201.from_index([0, 15_625])


def test_sample_mutate_crossover_stay_in_the_space(nb201, rng):
    archs = nb201.sample(rng, 200)
    assert all(len(a) == 6 and all(0 <= v < 5 for v in a) for a in archs)
    assert len(set(archs)) > 150
    for a, b in zip(archs[:-1], archs[1:]):
        child = nb201.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, child)) == 1
        cross = nb201.crossover(a, b, rng)
        assert all(c in (x, y) for c, x, y in zip(cross, a, b))


def test_sampling_is_seeded(nb201):
    first = nb201.sample(np.random.default_rng(7), 20)
    assert first == nb201.sample(np.random.default_rng(7), 20)
    assert first != nb201.sample(np.random.default_rng(8), 20)


def test_onehot_encoding(nb201, rng):
    archs = nb201.sample(rng, 50)
    onehot = nb201.encode(archs)
    assert onehot.shape == (50, 30)
    np.testing.assert_array_equal(onehot.reshape(50, 6, 5).argmax(-1), np.array(archs))
    assert (onehot.sum(1) == 6).all()


def test_graph_view(nb201):
    arch = nb201.from_string(BEST_CIFAR10)
    adjacency, features = nb201.graph([arch])
    assert adjacency.shape == (1, 8, 8) and features.shape == (1, 8, 7)
    # input feeds the three edges leaving node 0; the three edges into node 3 feed the output
    np.testing.assert_array_equal(np.flatnonzero(adjacency[0, 0]), [1, 2, 4])
    np.testing.assert_array_equal(np.flatnonzero(adjacency[0, :, 7]), [4, 5, 6])
    # edge 0->1 (node 1) feeds the edges leaving node 1: 1->2 and 1->3
    np.testing.assert_array_equal(np.flatnonzero(adjacency[0, 1]), [3, 5])
    assert [OPS[i - 1] for i in features[0, 1:7].argmax(-1)] == [OPS[v] for v in arch]
    assert nb201.encode([arch], "graph").shape == (1, 64 + 56)


def test_unknown_encoding(nb201):
    with pytest.raises(HwnasError, match="unknown encoding 'bogus'"):
        nb201.encode([(0,) * 6], "bogus")


def test_build_gives_the_real_network(nb201):
    torch = pytest.importorskip("torch")
    from hwnas.measure.model_stats import parameter_count

    arch = nb201.from_string(BEST_CIFAR10)
    net = nb201.build(arch).eval()
    assert parameter_count(net) == 1_288_506  # NAS-Bench-201 reports 1.289 M for this cell on CIFAR-10
    with torch.inference_mode():
        assert net(torch.zeros(nb201.input_shape(arch, 2))).shape == (2, 10)


def test_validate_rejects_out_of_range_choices(nb201):
    with pytest.raises(HwnasError, match="out of range"):
        nb201.validate((0, 0, 0, 0, 0, 5))
    with pytest.raises(HwnasError, match="expected 6"):
        nb201.validate((0, 0, 0))


def test_pruned_cuts_edges_that_cannot_change_the_output(nb201):
    # node 1 is always zero (its one input is none), so the edges out of it do not count
    assert pruned((0, 3, 1, 1, 4, 2)) == (0, 3, 0, 1, 0, 2)
    # node 2 never reaches the output (2 -> 3 is none), so the edges into it do not count
    assert pruned((3, 3, 2, 1, 3, 0)) == (3, 0, 0, 1, 3, 0)
    # every edge matters in the best CIFAR-10 cell, and a none on a live path is kept
    assert pruned(nb201.from_string(BEST_CIFAR10)) == (3, 3, 3, 1, 3, 3)
    assert pruned((3, 3, 0, 1, 3, 3)) == (3, 3, 0, 1, 3, 3)


def test_equivalents_are_the_other_cells_with_the_same_pruned_form(nb201):
    cell = (0, 3, 1, 1, 0, 2)   # x + conv1x1(conv3x3(x)); node 1 is zero, so edges 2 and 4 are free (25 cells),
    others = nb201.equivalents(cell)  # and with both none node 1 is unused, so edge 0 is free too (4 more)
    assert len(others) == 28 and cell not in others and len(set(others)) == 28
    assert (0, 3, 3, 1, 3, 2) in others and (4, 3, 0, 1, 0, 2) in others
    assert (1, 3, 1, 1, 0, 2) not in others and (0, 2, 1, 1, 0, 2) not in others
    assert all(cell in nb201.equivalents(other) for other in others[:10])
    assert nb201.equivalents((3, 3, 3, 1, 3, 3)) == []
    # accuracy: the same network up to training noise (NB201 CIFAR-10 test accuracy of the 29 cells)
    accuracy = nb201_accuracy("cifar10")[nb201.index([cell, *others])]
    assert np.ptp(accuracy) < 1.0
