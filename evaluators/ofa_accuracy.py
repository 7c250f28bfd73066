"""OFA-MobileNetV3 ImageNet top-1 from Once-for-All's published accuracy predictor (Cai et al., 2020).

The predictor is an MLP 128 -> 400 -> 400 -> 400 -> 1 (ReLU) on the space's 128-value `ofa` encoding,
trained by the OFA authors on measured subnet accuracies of the w1.2 super-network; it outputs a
fraction, reported here in percent. Its scale is its own, not the paper's fine-tuned accuracies.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.space import Arch, SearchSpace

_LAYERS = (("0.weight", "0.bias"), ("2.weight", "2.bias"), ("4.weight", "4.bias"), ("6.weight", "6.bias"))
WEIGHTS_FILE = "ofa-acc-predictor/acc_predictor.npz"


@functools.lru_cache(maxsize=None)
def predictor_weights() -> dict[str, np.ndarray]:
    """Once-for-All's published MobileNetV3 ImageNet top-1 predictor (MLP 128-400-400-400-1) weights."""
    path = data.data_file(WEIGHTS_FILE)
    try:
        with np.load(path) as npz:
            return {key: npz[key].astype(np.float64) for key in npz.files}
    except (OSError, ValueError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


class OfaAccuracyPredictor(Evaluator):
    """Predicted ImageNet top-1 (%) of OFA-MobileNetV3 subnets, batched in numpy."""

    metric = "ImageNet top-1 (%) predicted by OFA's accuracy predictor (Cai et al. 2020)"

    def __init__(self, space: SearchSpace):
        super().__init__(space)
        if space.name != "ofa_mbv3":
            raise HwnasError(f"OFA's accuracy predictor covers space ofa_mbv3, not {space.name}")
        weights = predictor_weights()
        try:
            self._layers = [(weights[w].T.copy(), weights[b].copy()) for w, b in _LAYERS]
        except KeyError as exc:
            raise HwnasError(f"corrupt data file {WEIGHTS_FILE}: no key {exc}") from None
        shapes = [w.shape for w, _ in self._layers]
        if shapes != [(128, 400), (400, 400), (400, 400), (400, 1)]:
            raise HwnasError(f"corrupt data file {WEIGHTS_FILE}: layer shapes {shapes}")

    def accuracy(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        matrix = self.space.checked_matrix(archs)
        if matrix.size == 0:
            return np.zeros(0)
        x = self.space.encode(matrix, "ofa").astype(np.float64)
        for i, (weight, bias) in enumerate(self._layers):
            x = x @ weight + bias
            if i < len(self._layers) - 1:
                np.maximum(x, 0.0, out=x)
        return 100.0 * x[:, 0]
