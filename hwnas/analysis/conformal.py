"""A predictor's relative error scale from held-out residuals: split-conformal / jackknife calibration
(Vovk, Gammerman & Shafer 2005; Barber, Candes, Ramdas & Tibshirani 2021 for leave-one-out residuals;
Angelopoulos & Bates 2021 for split conformal), turned into the standard deviation of a normal.

An oracle that adapts on n target measurements computes each one's prediction without it (leave-one-out)
and keeps the relative residual |measured - predicted| / predicted. The ceil((n+1) * coverage)-th smallest
of them bounds the relative error of a new exchangeable architecture with probability >= coverage, so
`std_ms = relative_std * predicted_ms` makes mean +- z std (z = Phi^-1(0.5 + coverage/2)) that interval.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from hwnas.core.errors import HwnasError

COVERAGE = 0.9  # the central interval the scale is calibrated for
Z_COVERAGE = NormalDist().inv_cdf(0.5 + COVERAGE / 2.0)  # its half-width in standard deviations (1.645)


class RelativeConformalStd:
    """Oracle mixin: `predict_std_ms` is the oracle's conformal relative scale (`_conformal_scale()`, computed
    from its leave-one-out errors) times its prediction, so mean +- 1.645 std is a 90 % interval."""

    def predict_std_ms(self, archs) -> np.ndarray:
        mean = np.asarray(self.predict_ms(archs), dtype=float)   # first: refuses an oracle not yet adapted
        return self._conformal_scale() * mean


def relative_residuals(predicted_ms, measured_ms) -> np.ndarray:
    """|measured - predicted| / predicted for each held-out measurement (relative to what is known at
    prediction time: the prediction, not the truth)."""
    predicted = np.asarray(predicted_ms, dtype=float).ravel()
    measured = np.asarray(measured_ms, dtype=float).ravel()
    if predicted.shape != measured.shape or predicted.size == 0:
        raise HwnasError(f"conformal calibration needs one prediction per measurement, got {predicted.size} "
                         f"and {measured.size}")
    if not (np.isfinite(predicted).all() and np.isfinite(measured).all()):
        raise HwnasError("conformal calibration needs finite predictions and measurements")
    return np.abs(measured - predicted) / np.maximum(predicted, 1e-12)


def conformal_quantile(scores, coverage: float = COVERAGE) -> float:
    """The ceil((n+1) coverage)-th smallest score (the largest when n is too small for the level)."""
    if not 0.0 < coverage < 1.0:
        raise HwnasError(f"conformal coverage must be in (0, 1), got {coverage}")
    ordered = np.sort(np.asarray(scores, dtype=float).ravel())
    if ordered.size == 0:
        raise HwnasError("conformal calibration needs at least one held-out residual")
    rank = min(math.ceil((ordered.size + 1) * coverage), ordered.size)
    return float(ordered[rank - 1])


def relative_std(predicted_ms, measured_ms, coverage: float = COVERAGE, difficulty=None,
                 relative: bool = True) -> float:
    """The relative standard deviation s such that prediction * (1 +- z s) is the conformal interval
    (with `relative=False`: the std in ms, prediction +- z s).

    `difficulty` (one positive value per measurement) normalises each residual first (locally weighted
    conformal, Lei, G'Sell, Rinaldo, Tibshirani & Wasserman 2018): a new prediction's std is then
    s * its own difficulty * the prediction.
    """
    z = NormalDist().inv_cdf(0.5 + coverage / 2.0)
    scores = relative_residuals(predicted_ms, measured_ms)
    if not relative:
        scores = scores * np.asarray(predicted_ms, dtype=float).ravel()
    if difficulty is not None:
        difficulty = np.asarray(difficulty, dtype=float).ravel()
        if difficulty.shape != scores.shape or not (np.isfinite(difficulty).all() and (difficulty > 0).all()):
            raise HwnasError("conformal difficulty needs one positive finite value per measurement")
        scores = scores / difficulty
    return conformal_quantile(scores, coverage) / z
