"""Checks shared by the space tests."""

from __future__ import annotations

import torch


def build_and_forward(space, arch) -> torch.Tensor:
    """Build `arch` and run one forward pass on a random input of the space's shape (one thread)."""
    torch.set_num_threads(1)
    net = space.build(arch).eval()
    with torch.inference_mode():
        return net(torch.randn(space.input_shape(arch)))
