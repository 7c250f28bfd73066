"""The evaluator interface: accuracy of architectures, kept separate from the space and the oracle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np

from hwnas.core.space import Arch, SearchSpace


class Evaluator(ABC):
    """Accuracy in percent for many architectures at once.

    `metric` says what the number is (data set, epochs, table or predictor); `is_proxy` marks a
    stand-in that is not an accuracy (a zero-cost score), so every output can label it as such.
    """

    metric: str = "accuracy (%)"
    is_proxy: bool = False

    def __init__(self, space: SearchSpace):
        self.space = space

    @abstractmethod
    def accuracy(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Accuracy (%) of each arch, shape (n,)."""
