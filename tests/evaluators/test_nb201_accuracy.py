"""NAS-Bench-201 accuracy evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy


@pytest.mark.parametrize("dataset, epochs", [("cifar10", 200), ("cifar100", 200), ("ImageNet16-120", 12)])
def test_accuracy_follows_the_index(nb201, rng, dataset, epochs):
    evaluator = NasBench201Accuracy(nb201, dataset, epochs)
    archs = nb201.sample(rng, 30)
    np.testing.assert_array_equal(evaluator.accuracy(archs), data.nb201_accuracy(dataset, epochs)[nb201.index(archs)])
    assert dataset in evaluator.metric and str(epochs) in evaluator.metric and not evaluator.is_proxy


def test_unknown_dataset(nb201):
    with pytest.raises(HwnasError, match="Did you mean: cifar10"):
        NasBench201Accuracy(nb201, "cifar-10")
