"""NAS-Bench-201 accuracy evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy, nb201_accuracy


@pytest.mark.parametrize("dataset, epochs", [("cifar10", 200), ("cifar100", 200), ("ImageNet16-120", 12)])
def test_accuracy_follows_the_index(nb201, rng, dataset, epochs):
    evaluator = NasBench201Accuracy(nb201, dataset, epochs)
    archs = nb201.sample(rng, 30)
    np.testing.assert_array_equal(evaluator.accuracy(archs), nb201_accuracy(dataset, epochs)[nb201.index(archs)])
    assert dataset in evaluator.metric and str(epochs) in evaluator.metric and not evaluator.is_proxy


def test_unknown_dataset(nb201):
    with pytest.raises(HwnasError, match="Did you mean: cifar10"):
        NasBench201Accuracy(nb201, "cifar-10")


def test_accuracy_tables_are_in_index_order():
    top1 = nb201_accuracy("cifar10")
    assert top1.shape == (15_625,)
    assert top1.max() == pytest.approx(94.37, abs=0.01)  # NATS-Bench's best CIFAR-10 mean (MANIFEST.md)
    assert nb201_accuracy("cifar100").max() == pytest.approx(73.51, abs=0.01)
    low = nb201_accuracy("cifar10", epochs=12)
    assert low.shape == (15_625,) and not np.allclose(low, top1)


def test_unknown_dataset_and_epochs_are_refused():
    with pytest.raises(HwnasError, match="cifar100"):
        nb201_accuracy("cifar101")
    with pytest.raises(HwnasError, match="epochs=200 or epochs=12"):
        nb201_accuracy("cifar10", epochs=50)
