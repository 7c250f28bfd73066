"""SynFlow proxy: the score's definition on a tiny network, labelling, caching, NB201 ranking."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from hwnas.evaluators.nb201_accuracy import nb201_accuracy
from hwnas.search_spaces.nasbench201 import NB201_SIZE
from hwnas.core.errors import HwnasError
from hwnas.evaluators.zero_cost import SynFlowProxy, synflow_score
from hwnas.search_spaces.nasbench201 import NasBench201


def test_score_of_a_two_layer_linear_net_is_twice_its_output():
    # R = 1^T |W2| |W1| 1 is linear in each layer's weights, so sum theta * dR/dtheta = R per layer.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.Linear(3, 2, bias=False))
    w1, w2 = net[0].weight.detach().abs().double(), net[1].weight.detach().abs().double()
    expected = 2 * float((w2 @ w1 @ torch.ones(4, dtype=torch.float64)).sum())
    assert synflow_score(lambda: net, (1, 4)) == pytest.approx(expected, rel=1e-5)


def test_labelled_as_proxy_and_reproducible(tmp_path, nb201):
    proxy = SynFlowProxy(nb201, seed=3, cache_dir=str(tmp_path))
    assert proxy.is_proxy and "PROXY" in proxy.metric and "NOT an accuracy" in proxy.metric
    archs = nb201.table_archs()[[5, 500]]
    first = proxy.accuracy(archs)
    again = SynFlowProxy(nb201, seed=3, cache_dir=str(tmp_path / "other")).accuracy(archs)
    assert np.array_equal(first, again)
    assert np.isfinite(first).all()


def test_cache_round_trip_and_corruption(tmp_path, nb201):
    proxy = SynFlowProxy(nb201, cache_dir=str(tmp_path))
    scores = proxy.accuracy(nb201.table_archs()[:3])
    proxy.save()
    cached = SynFlowProxy(nb201, cache_dir=str(tmp_path))
    assert len(cached._scores) == 3
    assert np.array_equal(cached.accuracy(nb201.table_archs()[:3]), scores)
    proxy.cache_file.write_text(json.dumps({"x": "not a number"}))
    with pytest.raises(HwnasError, match="corrupt SynFlow cache"):
        SynFlowProxy(nb201, cache_dir=str(tmp_path))


def test_ranks_nb201_accuracy(tmp_path):
    space = NasBench201()
    rows = np.random.default_rng(0).choice(NB201_SIZE, 40, replace=False)
    scores = SynFlowProxy(space, cache_dir=str(tmp_path)).accuracy(space.table_archs()[rows])
    rho = spearmanr(scores, nb201_accuracy("cifar10")[rows]).statistic
    assert rho > 0.4


@pytest.mark.parametrize("key, value, match", [("threads", 0, "threads must be a whole number >= 1, got 0"),
                                               ("seed", "abc", "seed must be a whole number >= 0, got 'abc'")])
def test_bad_settings_are_one_line(tmp_path, nb201, key, value, match):
    with pytest.raises(HwnasError, match=f"evaluator synflow: {match}"):
        SynFlowProxy(nb201, cache_dir=str(tmp_path), **{key: value})
