"""Latency monotonicity statistics: Spearman's rank correlation with a confidence interval, and
the device-by-device Spearman matrix (Lu et al. 2021, "One Proxy Device Is Enough for HW-NAS").

Every function refuses input that has no ranking (constant or too few values) with a HwnasError,
so a NaN correlation is never passed on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from hwnas.core.errors import HwnasError, unknown_choice

CI_METHODS = ("fisher", "bootstrap")
MIN_PAIRS = 4  # Fisher's z needs n > 3


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's rho between two latency vectors, with a two-sided confidence interval."""

    rho: float
    low: float
    high: float
    n: int
    confidence: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def _check_pair(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise HwnasError(f"{what}: {x.size} values against {y.size}; the two latency vectors must pair up")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise HwnasError(f"{what}: latencies must be finite numbers (found NaN or inf)")
    if x.size < MIN_PAIRS:
        raise HwnasError(f"{what}: {x.size} architectures are too few for a rank correlation; need >= {MIN_PAIRS}")
    for name, values in (("first", x), ("second", y)):
        if np.ptp(values) == 0:
            raise HwnasError(f"{what}: all {values.size} latencies of the {name} vector are "
                             f"{values[0]:.4g} ms, so they have no ranking; measure more varied architectures")
    return x, y


def _rank_rows(matrix: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank, as Spearman's rho needs)."""
    return rankdata(matrix, axis=-1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(-1) / np.where(denominator > 0, denominator, 1), np.nan)


def spearman(x: np.ndarray, y: np.ndarray, what: str = "Spearman correlation") -> float:
    """Spearman's rho of two latency vectors (ties averaged)."""
    x, y = _check_pair(x, y, what)
    return float(_pearson_rows(_rank_rows(x), _rank_rows(y)))


def spearman_ci(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95, method: str = "fisher",
                n_boot: int = 2000, seed: int = 0, what: str = "monotonicity check") -> RankCorrelation:
    """Spearman's rho with a confidence interval.

    `fisher`: z = atanh(rho) with Bonett & Wright's (2000) variance (1 + rho^2 / 2) / (n - 3);
    `bootstrap`: percentile interval over `n_boot` resamples of the pairs (Efron 1979).
    """
    if method not in CI_METHODS:
        raise unknown_choice("confidence-interval method", method, CI_METHODS)
    if not 0.0 < confidence < 1.0:
        raise HwnasError(f"{what}: confidence must lie strictly between 0 and 1, not {confidence}")
    x, y = _check_pair(x, y, what)
    rho = float(_pearson_rows(_rank_rows(x), _rank_rows(y)))
    n = x.size
    if method == "fisher":
        clipped = float(np.clip(rho, -0.999999, 0.999999))
        se = np.sqrt((1.0 + clipped ** 2 / 2.0) / (n - 3))
        half = float(ndtri(0.5 + confidence / 2.0)) * se
        low, high = np.tanh(np.arctanh(clipped) - half), np.tanh(np.arctanh(clipped) + half)
    else:
        rng = np.random.default_rng(seed)
        picks = rng.integers(n, size=(int(n_boot), n))
        rhos = _pearson_rows(_rank_rows(x[picks]), _rank_rows(y[picks]))
        rhos = rhos[np.isfinite(rhos)]  # a resample of one repeated architecture has no ranking
        if rhos.size < n_boot // 2:
            raise HwnasError(f"{what}: only {rhos.size} of {n_boot} bootstrap resamples had a ranking; "
                             "use method=fisher or more probes")
        tail = (1.0 - confidence) / 2.0
        low, high = np.quantile(rhos, [tail, 1.0 - tail])
    return RankCorrelation(rho, float(min(low, rho)), float(max(high, rho)), n, confidence, method)


def spearman_matrix(latency_ms: np.ndarray, min_pairs: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho for every pair of columns of an (archs, devices) table, NaN = not measured.

    Each pair uses the architectures both devices measured (pairwise complete). Returns the
    (devices, devices) correlation matrix and the matrix of pair counts; a pair with fewer than
    `min_pairs` common architectures, or a constant column, raises HwnasError.
    """
    table = np.asarray(latency_ms, dtype=float)
    if table.ndim != 2 or table.shape[1] < 2:
        raise HwnasError(f"spearman_matrix needs an (architectures, devices) table with >= 2 devices, "
                         f"got shape {table.shape}")
    measured = np.isfinite(table)
    n_dev = table.shape[1]
    counts = measured.T.astype(np.int64) @ measured.astype(np.int64)
    if counts.min() < min_pairs:
        i, j = np.unravel_index(int(np.argmin(counts)), counts.shape)
        raise HwnasError(f"devices {i} and {j} share only {counts[i, j]} measured architectures; "
                         f"need >= {min_pairs} for a rank correlation")
    rho = np.empty((n_dev, n_dev))
    complete = measured.all(axis=0)
    # Columns without gaps are ranked once over every row: their block is one correlation matrix.
    full = np.flatnonzero(complete)
    if full.size:
        ranks = _rank_rows(table[:, full].T)
        _require_ranking(ranks, full)
        rho[np.ix_(full, full)] = np.corrcoef(ranks)
    for i in np.flatnonzero(~complete):
        for j in range(n_dev):
            both = measured[:, i] & measured[:, j]
            pair = _rank_rows(np.stack([table[both, i], table[both, j]]))
            _require_ranking(pair, np.array([i, j]))
            rho[i, j] = rho[j, i] = float(_pearson_rows(pair[0], pair[1]))
    np.fill_diagonal(rho, 1.0)
    return rho, counts


def _require_ranking(ranks: np.ndarray, columns: np.ndarray) -> None:
    flat = np.ptp(ranks, axis=1) == 0
    if flat.any():
        raise HwnasError(f"device column {int(columns[np.argmax(flat)])} has one latency for every "
                         "architecture: no ranking to correlate")
