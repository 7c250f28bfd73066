"""The FBNet network of HW-NAS-Bench's CIFAR-100 setting as ``torch.nn.Module``.

Space: Wu et al., "FBNet", CVPR 2019; macro structure and blocks as HW-NAS-Bench (Li et al., ICLR 2021)
builds them for CIFAR-100 (source: GATECH-EIC/HW-NAS-Bench, ``hw_nas_bench_api/fbnet_models/
model_infer.py`` and the operator keys of ``hw_nas_bench_api.py``)::

    stem     Conv3x3 s1 (3 -> 16) + BN + ReLU                           32x32
    stages   layers 1, 4, 4, 4, 4, 4, 1; channels 16, 24, 32, 64, 112, 184, 352;
             strides 1, 1, 2, 2, 1, 2, 1 (first layer of a stage only)  32 -> 4
    head     Conv1x1 (352 -> 1504) + BN + ReLU, global average pool, Linear(1504 -> 100)

A block ``k{k}_e{e}[_g2]`` is 1x1 group conv (c_in -> e*c_in) + BN + ReLU, channel shuffle when
grouped, depthwise kxk + BN + ReLU, 1x1 group conv (-> c_out) + BN, plus the input when the stride is 1
and the channels match. ``skip`` is the identity, or 1x1 conv + BN + ReLU where the shape changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
STAGE_STRIDES = (1, 1, 2, 2, 1, 2, 1)   # CIFAR setting (ImageNet: 1, 2, 2, 2, 1, 2, 1)
STEM_CHANNELS = 16
HEAD_CHANNELS = 1504                    # CIFAR setting (ImageNet: 1984)
INPUT_SIZE = 32
NUM_LAYERS = sum(STAGE_LAYERS)          # 22


def op_params(name: str) -> tuple[int, int, int]:
    """(kernel, expansion, groups) of a block name such as ``k5_e1_g2``."""
    parts = name.split("_")
    return int(parts[0][1:]), int(parts[1][1:]), int(parts[2][1:]) if len(parts) > 2 else 1


@dataclass(frozen=True)
class LayerSpec:
    """One operator with its input shape (batch 1), keyed as HW-NAS-Bench keys its operator tables."""

    kind: str          # "stem" | one of OPS | "head"
    size: int          # input height = width
    c_in: int
    c_out: int
    stride: int = 1

    @property
    def key(self) -> str:
        if self.kind in ("stem", "head"):
            return f"{self.kind}_H{self.size}_Cin{self.c_in}_Cout{self.c_out}"
        if self.kind == "skip":
            return f"Skip_H{self.size}_Cin{self.c_in}_Cout{self.c_out}_stride{self.stride}"
        kernel, expand, groups = op_params(self.kind)
        return (f"ConvBlock_H{self.size}_Cin{self.c_in}_Cout{self.c_out}_exp{expand}_kernel{kernel}"
                f"_stride{self.stride}_group{groups}")

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.c_in, self.size, self.size)


def layer_shapes() -> list[tuple[int, int, int, int]]:
    """(input size, c_in, c_out, stride) of each of the 22 searchable layers."""
    shapes, size, c_in = [], INPUT_SIZE, STEM_CHANNELS
    for n_layers, c_out, stride in zip(STAGE_LAYERS, STAGE_CHANNELS, STAGE_STRIDES):
        for i in range(n_layers):
            s = stride if i == 0 else 1
            shapes.append((size, c_in, c_out, s))
            size, c_in = (size - 1) // s + 1, c_out
    return shapes


LAYER_SHAPES = tuple(layer_shapes())
FINAL_SIZE = (LAYER_SHAPES[-1][0] - 1) // LAYER_SHAPES[-1][3] + 1


def stem_spec() -> LayerSpec:
    return LayerSpec("stem", INPUT_SIZE, 3, STEM_CHANNELS)


def head_spec(num_classes: int = 100) -> LayerSpec:
    return LayerSpec("head", FINAL_SIZE, STAGE_CHANNELS[-1], num_classes)


def layer_spec(position: int, op: str) -> LayerSpec:
    size, c_in, c_out, stride = LAYER_SHAPES[position]
    return LayerSpec(op, size, c_in, c_out, stride)


def layer_specs(ops: Sequence[str], num_classes: int = 100) -> list[LayerSpec]:
    """Every operator of the network in order: stem, the 22 blocks, head."""
    return [stem_spec()] + [layer_spec(i, op) for i, op in enumerate(ops)] + [head_spec(num_classes)]


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (Zhang et al. 2018): lets grouped 1x1 convs mix groups."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ConvBlock(nn.Module):
    """FBNet's inverted-residual block k{kernel}_e{expand}[_g{groups}]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expand: int, groups: int, stride: int):
        super().__init__()
        mid = c_in * expand
        layers: list[nn.Module] = [nn.Conv2d(c_in, mid, 1, groups=groups, bias=False), nn.BatchNorm2d(mid),
                                   nn.ReLU(inplace=True)]
        if groups > 1:
            layers.append(ChannelShuffle(groups))
        layers += [nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False), nn.BatchNorm2d(mid),
                   nn.ReLU(inplace=True),
                   nn.Conv2d(mid, c_out, 1, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class Head(nn.Module):
    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.header = _conv_bn_relu(c_in, HEAD_CHANNELS, 1)
        self.fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.header(x).mean((2, 3)), 1))


def build_layer(spec: LayerSpec) -> nn.Module:
    """The module of one operator (what the per-operator latency table times)."""
    if spec.kind == "stem":
        return _conv_bn_relu(3, STEM_CHANNELS, 3)
    if spec.kind == "head":
        return Head(spec.c_in, spec.c_out)
    if spec.kind == "skip":
        if spec.stride == 1 and spec.c_in == spec.c_out:
            return nn.Identity()
        return _conv_bn_relu(spec.c_in, spec.c_out, 1, spec.stride)
    if spec.kind in OPS:
        kernel, expand, groups = op_params(spec.kind)
        return ConvBlock(spec.c_in, spec.c_out, kernel, expand, groups, spec.stride)
    raise ValueError(f"unknown FBNet operation {spec.kind!r}; valid: {', '.join(OPS)}")


class FBNetNetwork(nn.Sequential):
    """FBNet for 32x32 input: (B, 3, 32, 32) -> logits (B, num_classes)."""

    def __init__(self, specs: Sequence[LayerSpec]):
        super().__init__(*[build_layer(s) for s in specs])
        self.specs = tuple(specs)


def build_fbnet_network(ops: Sequence[str], num_classes: int = 100) -> FBNetNetwork:
    """Build the network from 22 block names (HW-NAS-Bench's CIFAR-100 macro structure)."""
    ops = tuple(ops)
    if len(ops) != NUM_LAYERS:
        raise ValueError(f"FBNet needs {NUM_LAYERS} block names, got {len(ops)}")
    for op in ops:
        if op not in OPS:
            raise ValueError(f"unknown FBNet operation {op!r}; valid: {', '.join(OPS)}")
    return FBNetNetwork(layer_specs(ops, num_classes))
