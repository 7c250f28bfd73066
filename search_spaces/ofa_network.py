"""OFA-MobileNetV3 subnets as ``torch.nn.Module`` (Cai et al., "Once-for-All", ICLR 2020).

The super-network is ``ofa_mbv3_d234_e346_k357_w1.2``: MobileNetV3 (Howard et al. 2019) blocks at
width 1.2, i.e. channels 24 (stem and first block), then stages of 32, 48, 96, 136, 192, a final 1x1
expansion to 1152 and a feature-mix layer to 1536 before the 1000-way classifier::

    stem       Conv3x3 s2 (3 -> 24) + BN + h-swish
    block 0    depthwise 3x3 + BN + ReLU, 1x1 (24 -> 24) + BN, identity shortcut
    stage 1-5  up to 4 inverted-residual blocks each; stride in the first block only
               (strides 2, 2, 2, 1, 2; ReLU, ReLU, h-swish, h-swish, h-swish; SE in stages 2, 4, 5)
    head       1x1 (192 -> 1152) + BN + h-swish, global average pool,
               1x1 (1152 -> 1536, no BN, no bias) + h-swish, dropout, Linear(1536 -> 1000)

An inverted-residual block with kernel k and expand ratio e has ``make_divisible(round(c_in * e))``
middle channels: 1x1 expand + BN + act, depthwise kxk + BN + act, squeeze-and-excite (reduction 4,
ReLU then hard sigmoid) where the stage uses it, 1x1 project + BN; identity shortcut when the stride
is 1 and the channels match. The layer list is described once (`layer_specs`), so the network and
the per-operator latency table use the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

WIDTH_MULT = 1.2
STAGE_STRIDES = (2, 2, 2, 1, 2)
STAGE_ACTS = ("relu", "relu", "h_swish", "h_swish", "h_swish")
STAGE_SE = (False, True, False, True, True)
BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)  # MobileNetV3-Large, before the width multiplier


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round to a multiple of `divisor`, never below 90 % of `value` (MobileNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


WIDTHS = tuple(make_divisible(w * WIDTH_MULT) for w in BASE_WIDTHS)  # (24, 24, 32, 48, 96, 136, 192, 1152, 1536)
STEM_CHANNELS, FIRST_BLOCK_CHANNELS = WIDTHS[0], WIDTHS[1]
STAGE_CHANNELS = WIDTHS[2:7]
FINAL_EXPAND_CHANNELS, FEATURE_MIX_CHANNELS = WIDTHS[7], WIDTHS[8]


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a 'same'-padded convolution with odd kernel."""
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class LayerSpec:
    """One operator of the network with its input shape (batch 1): the unit of the latency table."""

    kind: str                 # "stem" | "mbconv" | "head"
    size: int                 # input height = width
    c_in: int
    c_out: int
    kernel: int = 3
    expand: int = 1
    stride: int = 1
    act: str = "relu"
    se: bool = False

    @property
    def key(self) -> str:
        if self.kind == "mbconv":
            return (f"MBConv_H{self.size}_Cin{self.c_in}_Cout{self.c_out}_k{self.kernel}_e{self.expand}"
                    f"_s{self.stride}_{self.act}{'_se' if self.se else ''}")
        return f"{self.kind}_H{self.size}_Cin{self.c_in}_Cout{self.c_out}"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.c_in, self.size, self.size)


def stem_spec(resolution: int) -> LayerSpec:
    """Stem conv and the fixed first block, as one operator."""
    return LayerSpec("stem", resolution, 3, FIRST_BLOCK_CHANNELS)


def stage_input_sizes(resolution: int) -> tuple[int, ...]:
    """Input size of each stage's first block (the stem halves the resolution)."""
    size, sizes = conv_out(resolution, 2), []
    for stride in STAGE_STRIDES:
        sizes.append(size)
        size = conv_out(size, stride)
    return tuple(sizes) + (size,)


def block_spec(resolution: int, stage: int, first: bool, kernel: int, expand: int) -> LayerSpec:
    """The block at `stage` (0..4), first of its stage or not, for one resolution."""
    sizes = stage_input_sizes(resolution)
    c_out = STAGE_CHANNELS[stage]
    if first:
        c_in = FIRST_BLOCK_CHANNELS if stage == 0 else STAGE_CHANNELS[stage - 1]
        size, stride = sizes[stage], STAGE_STRIDES[stage]
    else:
        c_in, size, stride = c_out, conv_out(sizes[stage], STAGE_STRIDES[stage]), 1
    return LayerSpec("mbconv", size, c_in, c_out, kernel, expand, stride, STAGE_ACTS[stage], STAGE_SE[stage])


def head_spec(resolution: int, num_classes: int = 1000) -> LayerSpec:
    return LayerSpec("head", stage_input_sizes(resolution)[-1], STAGE_CHANNELS[-1], num_classes)


def layer_specs(ks: Sequence[int], e: Sequence[int], d: Sequence[int], resolution: int,
                num_classes: int = 1000) -> list[LayerSpec]:
    """Every operator of the subnet in order: stem, the active blocks, head."""
    specs = [stem_spec(resolution)]
    for stage, depth in enumerate(d):
        for j in range(depth):
            slot = 4 * stage + j
            specs.append(block_spec(resolution, stage, j == 0, ks[slot], e[slot]))
    specs.append(head_spec(resolution, num_classes))
    return specs


def _act(name: str) -> nn.Module:
    return nn.ReLU(inplace=True) if name == "relu" else nn.Hardswish(inplace=True)


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]


class SqueezeExcite(nn.Module):
    """Squeeze-and-excite (Hu et al. 2018) as MobileNetV3 uses it: reduction 4, hard-sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        mid = make_divisible(channels // reduction)
        self.reduce = nn.Conv2d(channels, mid, 1, bias=True)
        self.expand = nn.Conv2d(mid, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(scale))))
        return x * scale


class MBConv(nn.Module):
    """Inverted residual block (Sandler et al. 2018) with optional SE, as in MobileNetV3."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expand: int, stride: int, act: str, se: bool):
        super().__init__()
        mid = make_divisible(round(c_in * expand))
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [*_conv_bn(c_in, mid, 1), _act(act)]
        layers += [*_conv_bn(mid, mid, kernel, stride, groups=mid), _act(act)]
        if se:
            layers.append(SqueezeExcite(mid))
        layers += _conv_bn(mid, c_out, 1)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


class Head(nn.Module):
    """Final 1x1 expansion, global pooling, feature-mix 1x1 and classifier."""

    def __init__(self, c_in: int, num_classes: int, dropout: float = 0.1):
        super().__init__()
        self.final_expand = nn.Sequential(*_conv_bn(c_in, FINAL_EXPAND_CHANNELS, 1), nn.Hardswish(inplace=True))
        self.feature_mix = nn.Sequential(nn.Conv2d(FINAL_EXPAND_CHANNELS, FEATURE_MIX_CHANNELS, 1, bias=False),
                                         nn.Hardswish(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURE_MIX_CHANNELS, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(x).mean((2, 3), keepdim=True)
        return self.classifier(torch.flatten(self.feature_mix(x), 1))


def build_layer(spec: LayerSpec) -> nn.Module:
    """The module of one operator (what the per-operator latency table times)."""
    if spec.kind == "stem":
        return nn.Sequential(*_conv_bn(3, STEM_CHANNELS, 3, 2), nn.Hardswish(inplace=True),
                             MBConv(STEM_CHANNELS, FIRST_BLOCK_CHANNELS, 3, 1, 1, "relu", False))
    if spec.kind == "mbconv":
        return MBConv(spec.c_in, spec.c_out, spec.kernel, spec.expand, spec.stride, spec.act, spec.se)
    if spec.kind == "head":
        return Head(spec.c_in, spec.c_out)
    raise ValueError(f"unknown OFA layer kind {spec.kind!r}; valid: stem, mbconv, head")


class OfaSubnet(nn.Sequential):
    """An OFA-MobileNetV3 subnet: input (B, 3, r, r) -> logits (B, num_classes)."""

    def __init__(self, specs: Sequence[LayerSpec]):
        super().__init__(*[build_layer(s) for s in specs])
        self.specs = tuple(specs)


def build_ofa_subnet(ks: Sequence[int], e: Sequence[int], d: Sequence[int], resolution: int,
                     num_classes: int = 1000) -> OfaSubnet:
    """Build the subnet with kernel sizes `ks` and expand ratios `e` (20 slots), depths `d` (5 stages)."""
    return OfaSubnet(layer_specs(ks, e, d, resolution, num_classes))
