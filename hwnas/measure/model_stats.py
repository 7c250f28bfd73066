"""Space-agnostic size and compute statistics of a ``torch.nn.Module``.

torch is imported inside the functions, so importing this module stays cheap and torch-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["parameter_count", "flop_count"]


def parameter_count(module: "torch.nn.Module") -> int:
    """Number of trainable parameters (scalars with ``requires_grad``), as a plain count.

    Buffers (e.g. BatchNorm running statistics) are not parameters and are not counted; a
    parameter shared between submodules is counted once. Divide by 1e6 for the "MB" (millions)
    figure that NAS benchmarks such as NAS-Bench-201 report.
    """
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def flop_count(module: "torch.nn.Module", input_shape: tuple[int, ...]) -> int:
    """Floating-point operations of one forward pass on an input of ``input_shape``.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 32, 32)``; the count scales with it.
    Convention: one multiply-accumulate = 2 FLOPs (``torch.utils.flop_counter.FlopCounterMode``).
    Only operations that FlopCounterMode has formulas for are counted (convolutions, matrix
    multiplies / linear layers, attention); normalisation, activations, pooling and element-wise
    additions count as 0. Halve the result for a multiply-accumulate count (NAS-Bench-201's
    "FLOPs" column is that MAC count, in millions).

    The module is run once in eval mode under ``torch.no_grad()`` (torch < 2.4 counts nothing under
    ``inference_mode``) on a zero tensor placed
    on the device and in the floating dtype of its first parameter (CPU float32 if it has none);
    its train/eval mode is restored afterwards.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    shape = tuple(int(d) for d in input_shape)
    device, dtype = torch.device("cpu"), torch.float32
    for tensor in module.parameters():
        if tensor.is_floating_point():
            device, dtype = tensor.device, tensor.dtype
            break
    was_training = module.training
    module.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad():
            x = torch.zeros(shape, device=device, dtype=dtype)
            with counter:
                module(x)
    finally:
        module.train(was_training)
    return int(counter.get_total_flops())
