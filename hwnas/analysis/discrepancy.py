"""A predictor's discrepancy from the target, learnt from target measurements (measure-and-refit, issue 16).

The log-ratio r = log(measured / predicted) is modelled as a Gaussian process over architectures: a constant
(the predictor's overall bias) plus a local term with an exponential Hamming-distance kernel on the choice
vector, so an architecture a mutation or two away from a measured one inherits most of its error (model
discrepancy, Kennedy & O'Hagan 2001). The length scale and the signal share of the variance are the maximum
of the marginal likelihood over a small grid (Rasmussen & Williams 2006, ch. 5), nothing set per device.
"""

from __future__ import annotations

import numpy as np

from hwnas.core.errors import HwnasError

LENGTH_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0)      # in differing choices (Hamming distance)
SIGNAL_SHARES = (0.05, 0.25, 0.5, 0.75, 0.95)  # signal variance / (signal + noise) variance of the local term
MIN_POINTS = 3


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise number of differing choices between the rows of two (n, dims) integer matrices."""
    return (a[:, None, :] != b[None, :, :]).sum(axis=2).astype(float)


class Discrepancy:
    """`fit(matrix, predicted_ms, measured_ms)` on the measured architectures; `factor(matrix)` is the
    multiplicative correction exp(E[r]) of the predictions at any architectures (1 before any fit)."""

    def __init__(self) -> None:
        self._x: np.ndarray | None = None
        self._alpha = np.zeros(0)
        self.mean_log = 0.0
        self.length_scale, self.signal_share = None, None

    def fit(self, matrix: np.ndarray, predicted_ms, measured_ms) -> None:
        x = np.asarray(matrix, dtype=np.int64)
        predicted, measured = np.asarray(predicted_ms, dtype=float), np.asarray(measured_ms, dtype=float)
        if not (len(x) == len(predicted) == len(measured) and np.isfinite(predicted).all()
                and np.isfinite(measured).all() and (predicted > 0).all() and (measured > 0).all()):
            raise HwnasError("discrepancy: needs one finite positive prediction and measurement per architecture")
        r = np.log(measured) - np.log(predicted)
        if len(r) < MIN_POINTS:
            self._x, self._alpha, self.mean_log = None, np.zeros(0), float(np.mean(r)) if len(r) else 0.0
            return
        self.mean_log = float(np.mean(r))
        centred = r - self.mean_log
        variance = max(float(np.var(centred)), 1e-12)
        distance = hamming(x, x)
        best = None
        for scale in LENGTH_SCALES:
            correlation = np.exp(-distance / scale)
            for share in SIGNAL_SHARES:
                cov = variance * (share * correlation + (1.0 - share) * np.eye(len(r)))
                chol = np.linalg.cholesky(cov)
                alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, centred))
                evidence = -0.5 * centred @ alpha - np.log(np.diag(chol)).sum()
                if best is None or evidence > best[0]:
                    best = (evidence, scale, share, variance * share * alpha)
        _, self.length_scale, self.signal_share, weights = best
        self._x, self._alpha = x, weights   # posterior mean: k(x, X) (K + noise)^-1 r, signal variance folded in

    def log_factor(self, matrix: np.ndarray) -> np.ndarray:
        x = np.asarray(matrix, dtype=np.int64)
        out = np.full(len(x), self.mean_log)
        if self._x is not None and len(x):
            out += np.exp(-hamming(x, self._x) / self.length_scale) @ self._alpha
        return out

    def factor(self, matrix: np.ndarray) -> np.ndarray:
        return np.exp(self.log_factor(matrix))
