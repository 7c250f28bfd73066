"""Spearman with confidence intervals, the device matrix, and `hwnas monotonicity`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.analysis.monotonicity import spearman, spearman_ci, spearman_matrix


def test_spearman_matches_scipy_with_ties(rng):
    x = rng.integers(0, 6, 50).astype(float)  # many ties, like whole-ms phone timings
    y = x + rng.normal(0, 2, 50)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_fisher_interval_follows_bonett_wright():
    x = np.arange(10.0)
    y = np.array([0, 2, 1, 3, 5, 4, 6, 9, 7, 8.0])
    rho = spearmanr(x, y).statistic
    half = 1.959964 * np.sqrt((1 + rho ** 2 / 2) / 7)
    result = spearman_ci(x, y)
    assert result.rho == pytest.approx(rho)
    assert (result.low, result.high) == pytest.approx((np.tanh(np.arctanh(rho) - half),
                                                       np.tanh(np.arctanh(rho) + half)), abs=1e-5)


@pytest.mark.parametrize("method", ["fisher", "bootstrap"])
def test_interval_covers_the_true_rank_correlation(method):
    rng = np.random.default_rng(1)
    r = 0.7  # bivariate normal: Spearman's population rho is (6 / pi) asin(r / 2)
    truth = 6 / np.pi * np.arcsin(r / 2)
    covered = 0
    trials = 120
    for t in range(trials):
        x, y = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=30).T
        ci = spearman_ci(x, y, method=method, n_boot=400, seed=t)
        covered += ci.low <= truth <= ci.high
    assert 0.85 <= covered / trials <= 0.995


def test_interval_narrows_with_more_probes(rng):
    x = rng.random(200)
    y = x + rng.normal(0, 0.2, 200)
    wide, narrow = spearman_ci(x[:10], y[:10]), spearman_ci(x, y)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_bootstrap_is_reproducible(rng):
    x, y = rng.random(12), rng.random(12)
    assert spearman_ci(x, y, method="bootstrap", seed=3) == spearman_ci(x, y, method="bootstrap", seed=3)


@pytest.mark.parametrize("x, y, message", [
    (np.full(10, 4.0), np.arange(10.0), "no ranking"),
    (np.arange(10.0), np.r_[np.arange(9.0), np.nan], "finite"),
    (np.arange(3.0), np.arange(3.0), "too few"),
    (np.arange(10.0), np.arange(9.0), "pair up"),
])
def test_bad_input_is_refused_not_nan(x, y, message):
    with pytest.raises(HwnasError, match=message):
        spearman_ci(x, y)


def test_unknown_interval_method_lists_choices():
    with pytest.raises(HwnasError, match="fisher, bootstrap|bootstrap, fisher"):
        spearman_ci(np.arange(10.0), np.arange(10.0), method="fishr")


def test_matrix_matches_pandas_pairwise_complete(rng):
    table = rng.random((300, 5))
    table[:, 1] += table[:, 0]
    table[:40, 3] = np.nan
    table[250:, 4] = np.nan
    rho, counts = spearman_matrix(table)
    expected = pd.DataFrame(table).corr(method="spearman").to_numpy()
    np.testing.assert_allclose(rho, expected, atol=1e-12)
    assert counts[3, 4] == 300 - 40 - 50


def test_matrix_refuses_constant_device(rng):
    table = rng.random((50, 3))
    table[:, 2] = 1.0
    with pytest.raises(HwnasError, match="no ranking"):
        spearman_matrix(table)


def test_command_writes_csv_and_heatmap_grouped_by_kind(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "monotonicity", "tables=[nb201_oneproxy]",
                             f"out_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    matrix = pd.read_csv(tmp_path / "nb201_oneproxy_spearman.csv", index_col="device")
    assert (tmp_path / "nb201_oneproxy_spearman.png").stat().st_size > 10_000
    assert len(matrix) == 18 and list(matrix.index) == list(matrix.columns)
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    kinds = [devices.device_kind(n) for n in matrix.index]
    assert all(kinds.index(k) == i or kinds[i - 1] == k for i, k in enumerate(kinds))  # each kind contiguous
    a, b = devices.latency_ms("nasbench201", "true_630"), devices.latency_ms("nasbench201", "eagle_tpu")
    both = np.isfinite(a) & np.isfinite(b)
    assert matrix.loc["true_630", "eagle_tpu"] == pytest.approx(spearmanr(a[both], b[both]).statistic, abs=1e-4)


def test_command_refuses_unknown_table(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "monotonicity", "tables=[nb201]",
                             f"out_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "unknown monotonicity table 'nb201'" in result.stderr and "nb201_help" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.glob("*.csv"))  # refused before any work
