"""Checks shared by the space tests."""

from __future__ import annotations

import time

import torch


def fastest_build_and_forward_s(space, arch, tries: int = 2) -> float:
    """Seconds to build `arch` and run one forward pass, the best of `tries` (the machine is shared)."""
    torch.set_num_threads(1)
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        net = space.build(arch).eval()
        with torch.inference_mode():
            net(torch.randn(space.input_shape(arch)))
        best = min(best, time.perf_counter() - start)
    return best
