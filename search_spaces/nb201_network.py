"""The NAS-Bench-201 network as a trainable ``torch.nn.Module``.

Reference: X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search", ICLR 2020 (arXiv:2001.00326).

Macro skeleton (the benchmark's "infer.tiny" network, C=16, N=5 for every tabled result)::

    stem: Conv3x3(3 -> C) + BN
    stage 1: N cells at C channels, 32x32
    residual reduction block C -> 2C (stride 2)
    stage 2: N cells at 2C channels, 16x16
    residual reduction block 2C -> 4C (stride 2)
    stage 3: N cells at 4C channels, 8x8
    BN + ReLU, global average pool, Linear(4C -> num_classes)

The residual reduction block is ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, added to a shortcut of
AvgPool(2) followed by a bias-free Conv1x1 (no BN, no ReLU after the sum).

A cell is a DAG of 4 nodes; node 0 is the cell input, node j (j = 1, 2, 3) is the sum over i < j of
``op_(i->j)(node i)``, and the cell output is node 3. The 6 edge operations are given in the order
of the official architecture string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, i.e. edges
(0->1), (0->2), (1->2), (0->3), (1->3), (2->3). Inside a cell all tensors have the same shape, so
no operation needs a preprocessing convolution.

Operations:

* ``none``: zero output (contributes nothing to the sum);
* ``skip_connect``: identity;
* ``nor_conv_1x1`` / ``nor_conv_3x3``: ReLU -> Conv(kxk, stride 1, "same" padding, no bias) -> BN
  (affine, tracking running statistics);
* ``avg_pool_3x3``: AvgPool2d(3, stride 1, padding 1, count_include_pad=False).

A node whose incoming edges are all ``none`` is an all-zero tensor, so degenerate cells (e.g. all
six edges ``none``) still build and run; the head then sees zeros. Like the benchmark's own
network, every non-``none`` edge is built and executed even when its result cannot reach the
cell output, so parameter counts match the ones NAS-Bench-201 publishes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["NB201_OPS", "NB201_EDGES", "build_nb201_network", "NB201Network", "NB201Cell"]

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (from, to), string order


class _ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d. The ReLU is not in-place: cell nodes feed several
    edges, and an in-place ReLU would change a node that another edge still reads."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )


class _Zero(nn.Module):
    """The ``none`` operation; the cell skips it, this forward exists for standalone use."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def _make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return _Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return _ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return _ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; valid: {', '.join(NB201_OPS)}")


def _check_ops(ops: Sequence[str]) -> tuple[str, ...]:
    if isinstance(ops, str):
        raise ValueError("ops must be a sequence of 6 operation names, not a single string")
    ops = tuple(ops)
    if len(ops) != len(NB201_EDGES):
        raise ValueError(f"NAS-Bench-201 cell needs {len(NB201_EDGES)} edge operations, got {len(ops)}")
    for name in ops:
        if name not in NB201_OPS:
            raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; valid: {', '.join(NB201_OPS)}")
    return ops


class NB201Cell(nn.Module):
    """One 4-node NAS-Bench-201 cell with fixed operations; shape-preserving."""

    def __init__(self, ops: Sequence[str], channels: int):
        super().__init__()
        self.ops = _check_ops(ops)
        self.edges = nn.ModuleList(_make_op(name, channels) for name in self.ops)
        # for each node j = 1..3: the (edge index, source node) pairs that contribute to it
        self._inputs = tuple(
            tuple((e, i) for e, (i, to) in enumerate(NB201_EDGES) if to == j and self.ops[e] != "none")
            for j in (1, 2, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for inputs in self._inputs:
            if not inputs:
                nodes.append(torch.zeros_like(x))
                continue
            total = self.edges[inputs[0][0]](nodes[inputs[0][1]])
            for e, i in inputs[1:]:
                total = total + self.edges[e](nodes[i])
            nodes.append(total)
        return nodes[3]

    def extra_repr(self) -> str:
        o = self.ops
        return f"arch='|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|'"


class _ResidualReduction(nn.Module):
    """NAS-Bench-201's residual block between stages: halves resolution, c_in -> c_out channels."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = _ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = _ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class NB201Network(nn.Module):
    """The NAS-Bench-201 "infer.tiny" network: input (B, 3, H, W) -> logits (B, num_classes)."""

    def __init__(self, ops: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__()
        for label, value in (("C", C), ("N", N), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        self.ops = _check_ops(ops)
        self.stem = nn.Sequential(
            nn.Conv2d(3, C, 3, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        layers: list[nn.Module] = []
        channels = C
        for stage in range(3):
            if stage > 0:
                layers.append(_ResidualReduction(channels, 2 * channels))
                channels *= 2
            layers.extend(NB201Cell(self.ops, channels) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(out), 1))


def build_nb201_network(ops: Sequence[str], C: int = 16, N: int = 5,
                        num_classes: int = 10) -> torch.nn.Module:
    """Build the NAS-Bench-201 network for one cell.

    ``ops``: the 6 edge operations in NAS-Bench-201 string order, edges (0->1), (0->2), (1->2),
    (0->3), (1->3), (2->3), each one of ``none, skip_connect, nor_conv_1x1, nor_conv_3x3,
    avg_pool_3x3``. ``C``: channels of stage 1 (stages 2 and 3 use 2C and 4C); ``N``: cells per
    stage; ``num_classes``: classifier outputs. The benchmark's settings are C=16, N=5.

    Raises ``ValueError`` for a wrong number of operations, an unknown operation name, or a
    non-positive ``C``/``N``/``num_classes``.
    """
    return NB201Network(ops, C=C, N=N, num_classes=num_classes)
