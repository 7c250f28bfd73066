"""NAS-Bench-201 test accuracy from the benchmark's tables (200 epochs, or 12 as a low fidelity)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import Arch, SearchSpace, as_matrix


class NasBench201Accuracy(Evaluator):
    """Test accuracy (%) on `cifar10`, `cifar100` or `ImageNet16-120` after `epochs` (200 or 12)."""

    def __init__(self, space: SearchSpace, dataset: str = "cifar10", epochs: int = 200):
        super().__init__(space)
        if space.name != "nasbench201":
            raise HwnasError(f"the NAS-Bench-201 accuracy table does not cover space {space.name}")
        self._accuracy = data.nb201_accuracy(dataset, int(epochs))
        self.metric = f"{dataset} test accuracy (%), {epochs} epochs (NAS-Bench-201)"

    def accuracy(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self._accuracy[self.space.table_index(as_matrix(archs))]
