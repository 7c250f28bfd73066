"""NAS-Bench-201 test accuracy from the benchmark's tables (200 epochs, or 12 as a low fidelity)."""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import pandas as pd

from hwnas import data
from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.search_spaces.nasbench201 import NB201_SIZE, arch_strings

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
# epochs -> (file, its arch-string column, accuracy column per data set)
_FILES = {
    200: ("nb201-acc-200ep/nats_bench_tss_200ep_test_acc.csv.gz", "ArchitectureString",
          {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs",
           "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}),
    12: ("nb201-acc-12ep/mini-bench-arch-cell-accs.csv.gz", "cellstr",
         {"cifar10": "cifar10-test", "cifar100": "cifar100-test", "ImageNet16-120": "imagenet-test"}),
}


@functools.lru_cache(maxsize=None)
def nb201_accuracy(dataset: str, epochs: int = 200) -> np.ndarray:
    """NB201 test accuracy (%) for every index: 200 epochs (NATS-Bench means) or 12 epochs (mini-bench)."""
    if dataset not in DATASETS:
        raise unknown_choice("NAS-Bench-201 data set", dataset, DATASETS)
    if epochs not in _FILES:
        raise HwnasError(f"NAS-Bench-201 accuracy exists for epochs=200 or epochs=12, not {epochs}")
    path, arch_column, columns = _FILES[epochs]
    column = columns[dataset]
    frame: pd.DataFrame = data.read_csv(path)
    if column not in frame or arch_column not in frame or len(frame) != NB201_SIZE:
        raise data.corrupt(path, f"expected {NB201_SIZE} rows with {column!r}")
    if tuple(frame[arch_column]) != arch_strings():
        raise data.corrupt(path, "rows are not in NAS-Bench-201 index order")
    accuracy = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(accuracy).all():
        raise data.corrupt(path, "non-numeric accuracy")
    accuracy.setflags(write=False)
    return accuracy


class NasBench201Accuracy(Evaluator):
    """Test accuracy (%) on `cifar10`, `cifar100` or `ImageNet16-120` after `epochs` (200 or 12)."""

    def __init__(self, space: SearchSpace, dataset: str = "cifar10", epochs: int = 200):
        super().__init__(space)
        if space.name != "nasbench201":
            raise HwnasError(f"the NAS-Bench-201 accuracy table does not cover space {space.name}")
        self._accuracy = nb201_accuracy(dataset, int(epochs))
        self.metric = f"{dataset} test accuracy (%), {epochs} epochs (NAS-Bench-201)"

    def accuracy(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self._accuracy[self.space.table_index(as_matrix(archs))]
