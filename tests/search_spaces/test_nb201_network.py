"""Tests for the NAS-Bench-201 torch network and the generic model statistics.

Published numbers below are NAS-Bench-201's own ``params`` (in millions, "MB") and ``flops`` (in
millions of multiply-accumulates) fields, for C=16, N=5.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hwnas.measure.model_stats import flop_count, parameter_count
from hwnas.search_spaces.nb201_network import NB201_OPS, build_nb201_network

REPO_ROOT = Path(__file__).resolve().parents[2]


def ops_of(arch: str) -> list[str]:
    """Edge operations of an official NAS-Bench-201 string, in string order."""
    return [token.split("~")[0] for group in arch.split("+") for token in group.strip("|").split("|")]


# arch-index 9930, the best CIFAR-10 cell of NAS-Bench-201.
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SKIP_POOL = "|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|avg_pool_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
# The cell of D-X-Y/NATS-Bench issue #36 (NATS-Bench's topology space is NAS-Bench-201, same indices).
NATS_ISSUE_36 = "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"

# (arch, num_classes, published params in millions, decimals published, source)
PUBLISHED_PARAMS = [
    # NAS-Bench-201 API `show(9930)` log ("cifar10 FLOP=184.73 M, Params=1.289 MB"; cifar100
    # "Params=1.294 MB"), as quoted in public code that keeps the benchmark's genotypes.
    (BEST_CIFAR10, 10, 1.289, 3, "NB201 api.show(9930), cifar10"),
    (BEST_CIFAR10, 100, 1.294, 3, "NB201 api.show(9930), cifar100"),
    # Maximum of the `params` field over all 15,625 archs of NAS-Bench-201-v1_1-096897 (cifar10-valid
    # 1.531546, cifar100 1.537396, ImageNet16-120 1.538696), as printed by public scripts that scan the
    # released benchmark file. The maximum is the all-nor_conv_3x3 cell (the largest op on every edge).
    (ALL_CONV3, 10, 1.531546, 6, "NB201-v1_1 max params, cifar10-valid"),
    (ALL_CONV3, 100, 1.537396, 6, "NB201-v1_1 max params, cifar100"),
    (ALL_CONV3, 120, 1.538696, 6, "NB201-v1_1 max params, ImageNet16-120"),
    # Minimum of the same field (cifar10-valid 0.073306, cifar100 0.079156, ImageNet16-120 0.080456):
    # any cell without convolutions has only the fixed skeleton's parameters.
    (SKIP_POOL, 10, 0.073306, 6, "NB201-v1_1 min params, cifar10-valid"),
    (SKIP_POOL, 100, 0.079156, 6, "NB201-v1_1 min params, cifar100"),
    (ALL_SKIP, 120, 0.080456, 6, "NB201-v1_1 min params, ImageNet16-120"),
    # NATS-Bench get_cost_info(idx, 'cifar10', hp='12') in https://github.com/D-X-Y/NATS-Bench/issues/36:
    # {'flops': 113.95137, 'params': 0.802426, ...}
    (NATS_ISSUE_36, 10, 0.802426, 6, "NATS-Bench issue #36, cifar10"),
]

# (arch, published FLOPs in millions of multiply-accumulates (cifar10, 32x32 input), decimals published)
PUBLISHED_MACS = [
    (BEST_CIFAR10, 184.73, 2),  # NB201 api.show(9930): "cifar10 FLOP=184.73 M"
    (ALL_CONV3, 220.11969, 5),  # NB201-v1_1 max flops, cifar10-valid
    (SKIP_POOL, 7.78305, 5),  # NB201-v1_1 min flops, cifar10-valid
    (NATS_ISSUE_36, 113.95137, 5),  # NATS-Bench issue #36, hp='12', cifar10
]


@pytest.mark.parametrize("arch,num_classes,published,decimals,source", PUBLISHED_PARAMS,
                         ids=[row[4] for row in PUBLISHED_PARAMS])
def test_parameter_count_matches_published(arch, num_classes, published, decimals, source):
    net = build_nb201_network(ops_of(arch), num_classes=num_classes)
    assert round(parameter_count(net) / 1e6, decimals) == published


def _hand_count(ops, C, N, K):
    """Parameters from layer shapes alone (conv kxk c->c' without bias: k*k*c*c'; BN(c): 2c)."""
    def reduction(a, b):  # conv3x3 a->b + BN, conv3x3 b->b + BN, shortcut conv1x1 a->b
        return 9 * a * b + 2 * b + 9 * b * b + 2 * b + a * b

    fixed = 27 * C + 2 * C + reduction(C, 2 * C) + reduction(2 * C, 4 * C) + 2 * 4 * C + 4 * C * K + K
    per_op = {"nor_conv_3x3": lambda c: 9 * c * c + 2 * c, "nor_conv_1x1": lambda c: c * c + 2 * c}
    cells = sum(per_op[op](c) for c in (C, 2 * C, 4 * C) for op in ops if op in per_op)
    return fixed + N * cells


@pytest.mark.parametrize("arch,C,N,K", [
    ("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|", 16, 5, 10),
    ("|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|", 16, 5, 10),
    (BEST_CIFAR10, 8, 2, 7),
    (ALL_NONE, 4, 1, 3),
])
def test_parameter_count_matches_hand_formula(arch, C, N, K):
    ops = ops_of(arch)
    assert parameter_count(build_nb201_network(ops, C=C, N=N, num_classes=K)) == _hand_count(ops, C, N, K)


def test_forward_shape():
    net = build_nb201_network(ops_of(BEST_CIFAR10))
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10)
    assert torch.isfinite(out).all()
    out.sum().backward()  # trainable end to end
    assert net.stem[0].weight.grad is not None
    # ImageNet16-120 resolution and head
    net = build_nb201_network(ops_of(SKIP_POOL), num_classes=120).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 16, 16)).shape == (2, 120)


def test_all_none_cell_runs_and_feeds_zeros_to_head():
    net = build_nb201_network(ops_of(ALL_NONE))
    net.train()
    out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)
    out.sum().backward()
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, 32, 32))
    # every cell outputs zeros, so the logits are exactly the classifier bias
    assert torch.equal(out, net.classifier.bias.expand(3, -1))


def test_partially_dead_cell_runs():
    # node 1 has only a `none` input (all zeros); node 3 still sees the cell input through skip_connect
    net = build_nb201_network(["none", "none", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "none"]).eval()
    with torch.no_grad():
        a, b = net(torch.randn(2, 3, 32, 32)), net(torch.randn(2, 3, 32, 32))
    assert a.shape == (2, 10) and torch.isfinite(a).all() and not torch.equal(a, b)


def test_invalid_ops_raise_value_error():
    with pytest.raises(ValueError) as info:
        build_nb201_network(["nor_conv_3x3"] * 5 + ["sep_conv_3x3"])
    message = str(info.value)
    assert "sep_conv_3x3" in message and all(op in message for op in NB201_OPS)
    with pytest.raises(ValueError, match="6"):
        build_nb201_network(["skip_connect"] * 5)
    with pytest.raises(ValueError):
        build_nb201_network(["skip_connect"] * 6, C=0)


@pytest.mark.parametrize("arch,published_macs,decimals", PUBLISHED_MACS,
                         ids=["best-cifar10", "all-conv3x3", "skip-pool", "nats-issue-36"])
def test_flop_count_matches_published_macs(arch, published_macs, decimals):
    # flop_count counts 2 FLOPs per multiply-accumulate; NAS-Bench-201 reports MACs in millions.
    # Its count also includes the classifier's 10 bias adds (1e-5 M), hence the extra 2e-5 slack.
    flops = flop_count(build_nb201_network(ops_of(arch)), (1, 3, 32, 32))
    assert abs(flops / 2 / 1e6 - published_macs) <= 0.5 * 10 ** -decimals + 2e-5


def test_flop_count_is_positive_and_cell_dependent():
    conv = flop_count(build_nb201_network(ops_of(ALL_CONV3)), (1, 3, 32, 32))
    skip = flop_count(build_nb201_network(ops_of(ALL_SKIP)), (1, 3, 32, 32))
    assert conv > skip > 0
    assert flop_count(build_nb201_network(ops_of(ALL_SKIP)), (2, 3, 32, 32)) == 2 * skip


def test_flop_count_restores_training_mode():
    net = build_nb201_network(ops_of(SKIP_POOL))
    net.train()
    flop_count(net, (1, 3, 32, 32))
    assert net.training


def test_model_stats_import_does_not_import_torch():
    code = "import sys, hwnas.measure.model_stats; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
