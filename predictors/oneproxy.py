"""OneProxy (Lu, Yang, Jiang, Shi & Ren, 2021, "One Proxy Device Is Enough for Hardware-Aware NAS").

One latency predictor is trained on a proxy device's table (one-off setup shared by every target).
For a new target, k probe architectures are measured; if the proxy's ranking of them agrees with
the target's (Spearman's rho, confidence interval above `threshold`) the proxy predictor is reused
with only a scale fitted on the probes, so `budget_ms` means target milliseconds. Otherwise the
proxy predictor is fine-tuned on the probes (the paper's AdaProxy).

The proxy fit is ridge-regularised (an unregularised pseudo-inverse fit of a rank-deficient one-hot
encoding gives weights near +-1e8). The fine-tuning keeps the proxy's weights and re-weights a
few transfer features (op counts in NB201) with an L2 pull towards the scaled proxy predictor
(L2-SP, Li, Grandvalet & Davoine 2018); the pull's strength is chosen by leave-one-out error on
the probes, which may also keep the scale-only model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hwnas.data import devices
from hwnas.core.errors import HwnasError, unknown_choice, whole_number
from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.analysis.conformal import relative_std
from hwnas.analysis.monotonicity import CI_METHODS, MIN_PAIRS, spearman, spearman_ci
from hwnas.predictors.oneproxy_features import rich_features, transfer_features

log = logging.getLogger(__name__)

MODES = ("auto", "scale", "adapt", "target_only")
PROBE_SELECTIONS = ("random", "stratified")
PULL_GRID = (1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)  # L2 pull strengths tried by leave-one-out
_CHUNK = 2048  # architectures per feature block, to bound memory
FLOOR_SHARE = 0.01  # a linear fit can go below zero for near-empty cells: floor at 1 % of the fastest probe


class ProxyPredictor:
    """Ridge regression of the proxy's latency (ms) on `rich_features` (unpenalised intercept).

    Predictions for the space's tabled architectures are computed once and then looked up.
    """

    def __init__(self, proxy: str, weights: np.ndarray, n_train: int, fit_seconds: float):
        self.proxy, self.weights, self.n_train, self.fit_seconds = proxy, weights, n_train, fit_seconds
        self._table_ms: np.ndarray | None = None

    def _compute(self, space: SearchSpace, archs: np.ndarray) -> np.ndarray:
        out = np.empty(len(archs))
        for start in range(0, len(archs), _CHUNK):
            block = rich_features(space, archs[start:start + _CHUNK])
            out[start:start + _CHUNK] = self.weights[0] + block @ self.weights[1:]
        return out

    def predict_ms(self, space: SearchSpace, archs: np.ndarray) -> np.ndarray:
        if self._table_ms is None:
            self._table_ms = self._compute(space, np.asarray(space.table_archs()))
        rows = np.asarray(space.table_index(archs), dtype=np.int64)
        out = np.where(rows >= 0, self._table_ms[np.maximum(rows, 0)], np.nan)
        untabled = rows < 0
        if untabled.any():
            out[untabled] = self._compute(space, archs[untabled])
        return out


_PROXY_CACHE: dict[tuple, ProxyPredictor] = {}


def fit_proxy(space: SearchSpace, proxy: str, ridge: float, proxy_archs: int | None = None) -> ProxyPredictor:
    """Fit (once per process) the proxy predictor on the architectures the proxy measured: all of
    them, or a fixed random subset of `proxy_archs` (the same for every target and seed)."""
    key = (space.name, proxy, float(ridge), proxy_archs)
    if key in _PROXY_CACHE:
        return _PROXY_CACHE[key]
    start = time.perf_counter()
    latency = devices.latency_ms(space.name, proxy)
    rows = np.flatnonzero(np.isfinite(latency))
    if proxy_archs is not None and proxy_archs < rows.size:
        rows = np.sort(np.random.default_rng(0).choice(rows, size=int(proxy_archs), replace=False))
    if rows.size < 50:
        raise HwnasError(f"proxy {proxy} measured only {rows.size} {space.name} architectures; "
                         "a proxy predictor needs >= 50")
    archs = np.asarray(space.table_archs())[rows]
    gram, moment = None, None
    for first in range(0, len(rows), _CHUNK):
        block = rich_features(space, archs[first:first + _CHUNK])
        block = np.hstack([np.ones((len(block), 1)), block])
        target = latency[rows[first:first + _CHUNK]]
        gram = block.T @ block if gram is None else gram + block.T @ block
        moment = block.T @ target if moment is None else moment + block.T @ target
    penalty = np.full(len(gram), float(ridge))
    penalty[0] = 0.0
    weights = np.linalg.solve(gram + np.diag(penalty), moment)
    predictor = ProxyPredictor(proxy, weights, int(rows.size), time.perf_counter() - start)
    _PROXY_CACHE[key] = predictor
    return predictor


@dataclass(frozen=True)
class LinearFit:
    """y ~ X @ weights, X's first column the intercept; `loo_ms` are leave-one-out predictions;
    `inverse` is (X'X + penalty)^-1 and `leverage` the probes' hat-matrix diagonal."""

    weights: np.ndarray
    pull: float
    loo_ms: np.ndarray
    loo_mse: float
    inverse: np.ndarray
    leverage: np.ndarray


def fit_loo(design: np.ndarray, y: np.ndarray, penalised: np.ndarray, pulls: Sequence[float]) -> LinearFit:
    """Ridge on the `penalised` columns for each strength in `pulls`; keep the least leave-one-out
    error (closed form through the hat matrix, Allen 1974)."""
    best: LinearFit | None = None
    for pull in pulls:
        penalty = np.diag(np.where(penalised, pull, 0.0) + 1e-10)
        inverse = np.linalg.inv(design.T @ design + penalty)
        solver = inverse @ design.T
        hat = design @ solver
        leverage = np.diag(hat)
        if np.any(leverage > 1.0 - 1e-6):
            continue  # this fit interpolates a probe: its leave-one-out error is undefined
        fitted = hat @ y
        loo = y - (y - fitted) / (1.0 - leverage)
        mse = float(np.mean((y - loo) ** 2))
        if best is None or mse < best.loo_mse:
            best = LinearFit(solver @ y, float(pull), loo, mse, inverse, leverage)
    if best is None:
        raise HwnasError(f"{len(y)} probes cannot fit {design.shape[1]} weights without interpolating; "
                         "measure more probes (samples=...)")
    return best


class OneProxy(LatencyOracle):
    """Proxy predictor + monotonicity check + scale or adaptation on `samples` target probes."""

    name = "oneproxy"

    def __init__(self, space: SearchSpace, device: str, proxy: str = "pixel3", samples: int = 10,
                 seed: int = 0, threshold: float = 0.9, confidence: float = 0.95, ci_method: str = "fisher",
                 mode: str = "auto", probe_selection: str = "random", proxy_ridge: float = 1.0,
                 proxy_archs: int | None = None):
        super().__init__(space, device)
        devices.require_device(space.name, device)
        if proxy not in devices.devices(space.name):
            raise unknown_choice(f"proxy device for space {space.name}", proxy, devices.devices(space.name))
        if proxy == device:
            raise HwnasError(f"proxy {proxy} is the target device itself; pick another proxy or use oracle=lut")
        for what, value, valid in (("mode", mode, MODES), ("probe_selection", probe_selection, PROBE_SELECTIONS),
                                   ("ci_method", ci_method, CI_METHODS)):
            if value not in valid:
                raise unknown_choice(f"oneproxy {what}", value, valid)
        if int(samples) < MIN_PAIRS:
            raise HwnasError(f"oneproxy needs samples >= {MIN_PAIRS} target probes for a rank correlation, "
                             f"got {samples}")
        if not -1.0 <= float(threshold) <= 1.0:
            raise HwnasError(f"oneproxy threshold is a Spearman correlation in [-1, 1], got {threshold}")
        if float(proxy_ridge) <= 0:
            raise HwnasError(f"oneproxy proxy_ridge must be > 0 (the unregularised fit is unstable), got {proxy_ridge}")
        self.proxy, self.samples, self.seed = proxy, int(samples), int(seed)
        self.threshold, self.confidence, self.ci_method = float(threshold), float(confidence), ci_method
        self.mode, self.probe_selection = mode, probe_selection
        self._target_ms = devices.latency_ms(space.name, device)
        covered = np.flatnonzero(np.isfinite(self._target_ms))
        if covered.size < self.samples:
            raise HwnasError(f"device {device} measured only {covered.size} {space.name} architectures, "
                             f"fewer than samples={self.samples}")
        self._covered = covered
        self._warn_if_same_data()
        if proxy_archs is not None and whole_number("oracle oneproxy", "proxy_archs", proxy_archs) < 50:
            raise HwnasError(f"oneproxy proxy_archs must be >= 50 (or null for the whole table), got {proxy_archs}")
        self.predictor = fit_proxy(space, proxy, float(proxy_ridge), None if proxy_archs is None else int(proxy_archs))
        self._probes: list[Arch] | None = None
        self._weights: np.ndarray | None = None
        self._floor_ms = 0.0
        self._uses_proxy = True
        self.report: dict = {}

    # ------------------------------------------------------------------ interface
    def reference_archs(self) -> list[Arch]:
        """The `samples` probe archs, seeded, drawn from the rows the target device measured."""
        if self._probes is None:
            rng = np.random.default_rng(self.seed)
            if self.probe_selection == "random":
                rows = rng.choice(self._covered, size=self.samples, replace=False)
            else:  # one probe from each of `samples` equal bins of the proxy's predicted latency
                archs = np.asarray(self.space.table_archs())[self._covered]
                order = self._covered[np.argsort(self.predictor.predict_ms(self.space, archs), kind="stable")]
                rows = np.array([rng.choice(part) for part in np.array_split(order, self.samples)])
            archs = np.asarray(self.space.table_archs())[np.sort(rows)]
            self._probes = [tuple(int(v) for v in a) for a in archs]
        return list(self._probes)

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        """Check monotonicity on the probes, then fit the scale (strong) or fine-tune (weak)."""
        matrix = self._check_archs(archs)
        target = np.asarray(latency_ms, dtype=float).ravel()
        if target.shape != (len(matrix),):
            raise HwnasError(f"oneproxy.adapt: {len(matrix)} archs but {target.size} latencies")
        if not np.isfinite(target).all() or (target < 0).any():
            raise HwnasError(f"oneproxy.adapt: target latencies on {self.device} must be finite and >= 0")
        proxy_ms = self.predictor.predict_ms(self.space, matrix)
        what = f"monotonicity check of proxy {self.proxy} against {self.device} on {len(target)} probes"
        check = spearman_ci(proxy_ms, target, confidence=self.confidence, method=self.ci_method,
                            seed=self.seed, what=what)
        if self.mode == "auto":
            decision = "scale" if check.low >= self.threshold else "adapt"
        else:
            decision = self.mode
        transfer = transfer_features(self.space, matrix)
        ones = np.ones((len(target), 1))
        if decision == "target_only":
            design = np.hstack([ones, transfer])
            fit = fit_loo(design, target, np.r_[False, np.ones(transfer.shape[1], bool)], PULL_GRID)
            self._uses_proxy = False
        else:
            self._uses_proxy = True   # a refit (refine) may follow a target-only fallback
            design = np.hstack([ones, proxy_ms[:, None], transfer])
            penalised = np.r_[False, False, np.ones(transfer.shape[1], bool)]
            pulls = (np.inf,) if decision == "scale" else PULL_GRID + (np.inf,)
            fit = fit_loo(design, target, penalised, [p if np.isfinite(p) else 1e12 for p in pulls])
            if fit.weights[1] <= 0:
                log.warning("oneproxy: %s ranks the probes against %s's order (slope %.3g); "
                            "falling back to the target-only fit", self.proxy, self.device, fit.weights[1])
                design = np.hstack([ones, transfer])
                fit = fit_loo(design, target, np.r_[False, np.ones(transfer.shape[1], bool)], PULL_GRID)
                self._uses_proxy, decision = False, "target_only"
        self._weights = fit.weights
        self._floor_ms = FLOOR_SHARE * float(target.min()) if target.min() > 0 else 1e-6
        # the predictive spread: conformal scale of the probes' leave-one-out relative errors (errors grow with
        # latency), each normalised by its leave-one-out leverage inflation 1/sqrt(1-h) (see predict_std_ms)
        self._inverse = fit.inverse
        self._relative_std = relative_std(np.maximum(fit.loo_ms, self._floor_ms), target,
                                          difficulty=1.0 / np.sqrt(1.0 - fit.leverage), relative=False)
        after = self._rank_or_none(fit.loo_ms, target)
        self.report = {
            "proxy": self.proxy, "target": self.device, "probes": len(target), "mode": self.mode,
            "decision": decision, "threshold": self.threshold,
            "rho_before": check.rho, "ci_low": check.low, "ci_high": check.high,
            "confidence": check.confidence, "ci_method": check.method,
            "rho_after_loo": after, "pull": fit.pull if fit.pull < 1e12 else None,
            "proxy_scale": float(fit.weights[1]) if self._uses_proxy else None,
        }
        log.info("oneproxy %s -> %s: Spearman on %d probes %.3f [%.3f, %.3f] (%s %.0f%%), threshold %.2f: %s; "
                 "leave-one-out Spearman after: %s", self.proxy, self.device, len(target), check.rho, check.low,
                 check.high, check.method, 100 * check.confidence, self.threshold, decision,
                 "n/a" if after is None else f"{after:.3f}")

    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self._predict(archs)[0]

    def predict_std_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Predictive std (ms): the conformal scale of the probes' leave-one-out relative errors (Vovk et al.
        2005) times the prediction and sqrt(1 + h), h the architecture's leverage under the fit (large where
        it extrapolates beyond the probes), so mean +- 1.645 std is a 90 % interval."""
        mean, leverage = self._predict(archs)
        return self._relative_std * np.sqrt(1.0 + leverage)

    def _predict(self, archs) -> tuple[np.ndarray, np.ndarray]:
        """Prediction (ms, floored) and leverage x' (X'X + penalty)^-1 x of each architecture."""
        if self._weights is None:
            raise HwnasError(f"oneproxy for {self.device} is not adapted yet: measure reference_archs() on the "
                             "target and pass them to adapt()")
        matrix = self._check_archs(archs)
        out, leverage = np.empty(len(matrix)), np.empty(len(matrix))
        for start in range(0, len(matrix), _CHUNK):
            block = matrix[start:start + _CHUNK]
            columns = [np.ones((len(block), 1)), transfer_features(self.space, block)]
            if self._uses_proxy:
                columns.insert(1, self.predictor.predict_ms(self.space, block)[:, None])
            design = np.hstack(columns)
            out[start:start + _CHUNK] = design @ self._weights
            leverage[start:start + _CHUNK] = np.einsum("ij,jk,ik->i", design, self._inverse, design)
        return np.maximum(out, self._floor_ms), leverage

    def setup_cost(self) -> SetupCost:
        """The proxy's table and the predictor's fit: one-off work shared by every target."""
        return SetupCost(shared_measurements=self.predictor.n_train, shared_seconds=self.predictor.fit_seconds)

    # ------------------------------------------------------------------ helpers
    def _check_archs(self, archs) -> np.ndarray:
        matrix = as_matrix(archs)
        sizes = np.array([len(d) for d in self.space.dimensions()])
        if matrix.ndim != 2 or (len(matrix) and matrix.shape[1] != len(sizes)):
            raise HwnasError(f"{self.space.name}: architectures need {len(sizes)} choices, got shape {matrix.shape}")
        if len(matrix) and ((matrix < 0) | (matrix >= sizes)).any():
            bad = int(np.argwhere((matrix < 0) | (matrix >= sizes))[0, 0])
            raise HwnasError(f"{self.space.name}: architecture {matrix[bad].tolist()} has a choice out of range")
        return matrix

    def _rank_or_none(self, predicted: np.ndarray, target: np.ndarray) -> float | None:
        try:
            return spearman(predicted, target, what="leave-one-out check after adaptation")
        except HwnasError as exc:
            log.warning("oneproxy: no Spearman after adaptation on %s: %s", self.device, exc)
            return None

    def _warn_if_same_data(self) -> None:
        proxy_ms = devices.latency_ms(self.space.name, self.proxy)
        both = np.isfinite(proxy_ms) & np.isfinite(self._target_ms)
        if both.sum() >= MIN_PAIRS and np.array_equal(proxy_ms[both], self._target_ms[both]):
            log.warning("oneproxy: target %s has the same measurements as proxy %s on all %d shared "
                        "architectures (the same device under two names?)", self.device, self.proxy, int(both.sum()))
