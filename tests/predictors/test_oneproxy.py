"""The oneproxy oracle: proxy predictor, probes, monotonicity decision, adaptation, bad input."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.predictors.oneproxy import OneProxy, fit_proxy
from hwnas.predictors.oneproxy_features import nb201_live_ops, transfer_features


def adapted(space, device, **kwargs) -> OneProxy:
    oracle = OneProxy(space, device, **kwargs)
    probes = oracle.reference_archs()
    oracle.adapt(probes, devices.latency_ms(space.name, device)[space.index(probes)])
    return oracle


def test_dead_edges_are_found(nb201):
    # node 1 unreachable (edge 0->1 is none): edges 1->2 and 1->3 are dead; node 2 feeds nothing (2->3 none)
    arch = nb201.from_string("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|none~2|")
    live = nb201_live_ops(np.array([arch]))[0]
    assert nb201.to_string(tuple(live)) == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert (nb201_live_ops(nb201.table_archs()) <= nb201.table_archs()).all()


def test_proxy_predictor_ranks_its_own_device(nb201):
    predictor = fit_proxy(nb201, "pixel3", 1.0)
    truth = devices.latency_ms("nasbench201", "pixel3")
    assert predictor.n_train == len(truth)
    assert spearmanr(predictor.predict_ms(nb201, nb201.table_archs()), truth).statistic > 0.95
    assert np.abs(predictor.weights).max() < 1e3  # regularised: no +-1e8 weights


def test_probes_are_seeded_and_from_the_targets_table(nb201):
    covered = set(np.flatnonzero(np.isfinite(devices.latency_ms("nasbench201", "eagle_tpu"))))
    first = OneProxy(nb201, "eagle_tpu", samples=10, seed=0).reference_archs()
    assert first == OneProxy(nb201, "eagle_tpu", samples=10, seed=0).reference_archs()
    assert first != OneProxy(nb201, "eagle_tpu", samples=10, seed=1).reference_archs()
    assert len(set(first)) == 10 and set(nb201.index(first)) <= covered
    stratified = OneProxy(nb201, "eagle_tpu", samples=10, probe_selection="stratified").reference_archs()
    assert len(set(stratified)) == 10 and set(nb201.index(stratified)) <= covered


def test_strong_monotonicity_keeps_the_proxy_ranking_with_a_scale(nb201):
    oracle = OneProxy(nb201, "titan_rtx_256", samples=10)
    probes = oracle.reference_archs()
    proxy_ms = oracle.predictor.predict_ms(nb201, np.array(probes))
    oracle.adapt(probes, 2.0 * proxy_ms + 1.0)  # a target that is an exact monotone transform
    assert oracle.report["decision"] == "scale" and oracle.report["ci_low"] >= 0.9
    np.testing.assert_allclose(oracle.predict_ms(probes), 2.0 * proxy_ms + 1.0, rtol=1e-6)


def test_weak_monotonicity_triggers_adaptation(nb201, rng):
    oracle = OneProxy(nb201, "gold_6226", samples=10)
    probes = oracle.reference_archs()
    oracle.adapt(probes, rng.permutation(np.linspace(2.0, 20.0, 10)))
    assert oracle.report["decision"] in ("adapt", "target_only") and oracle.report["ci_low"] < 0.9


def test_scale_mode_means_target_milliseconds(nb201):
    oracle = adapted(nb201, "raspi4", mode="scale")
    probes = oracle.reference_archs()
    measured = devices.latency_ms("nasbench201", "raspi4")[nb201.index(probes)]
    assert oracle.predict_ms(probes).mean() == pytest.approx(measured.mean(), rel=1e-6)  # least squares + intercept
    table = nb201.table_archs()
    assert spearmanr(oracle.predict_ms(table), oracle.predictor.predict_ms(nb201, table)).statistic > 0.999


def test_adaptation_beats_the_proxy_on_a_weakly_monotone_target(nb201):
    truth = devices.latency_ms("nasbench201", "gold_6226")
    table = nb201.table_archs()
    scale = spearmanr(adapted(nb201, "gold_6226", mode="scale").predict_ms(table), truth).statistic
    adapt = adapted(nb201, "gold_6226", mode="adapt")
    after = spearmanr(adapt.predict_ms(table), truth).statistic
    assert after > scale + 0.1
    assert adapt.report["rho_after_loo"] is not None and adapt.predict_ms(table).min() > 0


def test_target_only_baseline_ignores_the_proxy(nb201):
    oracle = adapted(nb201, "fpga", mode="target_only")
    table = nb201.table_archs()
    counts = transfer_features(nb201, table)
    same_counts = (counts == counts[0]).all(axis=1)  # archs with equal op counts get one prediction
    assert np.ptp(oracle.predict_ms(table[same_counts])) == 0 and oracle.report["proxy_scale"] is None


def test_setup_cost_is_the_proxy_table(nb201):
    cost = OneProxy(nb201, "eyeriss").setup_cost()
    assert cost.shared_measurements == 15_625 and cost.target_measurements == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"device": "pixel3"}, "is the target device itself"),
    ({"device": "eyeriss", "proxy": "pixel33"}, "Did you mean: pixel3"),
    ({"device": "pixle2"}, "unknown device"),
    ({"device": "eyeriss", "mode": "scaled"}, "unknown oneproxy mode"),
    ({"device": "eyeriss", "samples": 3}, "samples >= 4"),
    ({"device": "eyeriss", "proxy_ridge": 0}, "proxy_ridge must be > 0"),
    ({"device": "eyeriss", "proxy_archs": "abc"}, "oracle oneproxy: proxy_archs must be a whole number, got 'abc'"),
])
def test_bad_configuration_is_one_clear_error(nb201, kwargs, message):
    with pytest.raises(HwnasError, match=message):
        OneProxy(nb201, **kwargs)


def test_probes_without_ranking_or_with_nan_are_refused(nb201):
    oracle = OneProxy(nb201, "pixel2", samples=10)
    probes = oracle.reference_archs()
    with pytest.raises(HwnasError, match="no ranking"):
        oracle.adapt(probes, np.full(10, 12.0))
    with pytest.raises(HwnasError, match="finite"):
        oracle.adapt(probes, np.r_[np.arange(9.0) + 1, np.nan])
    with pytest.raises(HwnasError, match="not adapted yet"):
        oracle.predict_ms(probes)
    with pytest.raises(HwnasError, match="out of range"):
        adapted(nb201, "pixel2").predict_ms([(0, 1, 2, 3, 4, 9)])


def test_same_data_under_two_names_warns(nb201, caplog):
    with caplog.at_level(logging.WARNING, logger="hwnas.predictors.oneproxy"):
        OneProxy(nb201, "rice_pixel3")
    assert "same measurements as proxy pixel3" in caplog.text


def test_predict_command_writes_the_common_csv(tmp_path):
    out = tmp_path / "p.csv"
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "predict", "oracle=oneproxy", "device=eyeriss",
                             f"out={out}", f"hydra.run.dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[:4]) == ["index", "arch", "predicted_ms", "measured"]
    assert len(frame) == 15_625 and frame["measured"].sum() == 10 and np.isfinite(frame["predicted_ms"]).all()
    truth = devices.latency_ms("nasbench201", "eyeriss")[frame["index"]]
    assert spearmanr(frame["predicted_ms"], truth).statistic > 0.9


def test_conformal_interval_covers_about_ninety_percent_of_held_out_architectures(nb201):
    truth = devices.latency_ms("nasbench201", "gold_6226")
    coverage = []
    for seed in (0, 1, 2):
        oracle = adapted(nb201, "gold_6226", seed=seed)
        held_out = np.ones(len(truth), dtype=bool)
        held_out[nb201.index(oracle.reference_archs())] = False
        archs = nb201.table_archs()[held_out]
        mean, std = oracle.predict_ms(archs), oracle.predict_std_ms(archs)
        coverage.append(np.mean(np.abs(truth[held_out] - mean) <= 1.6448536 * std))
    assert 0.85 <= np.mean(coverage) <= 0.95


def test_the_spread_grows_where_the_fit_extrapolates(nb201):
    oracle = adapted(nb201, "pixel2", seed=2)   # fine-tuned on 10 probes: far from them, the fit is unsure
    archs = nb201.table_archs()
    mean, leverage = oracle._predict(archs)
    std = oracle.predict_std_ms(archs)
    assert std.shape == mean.shape and (std > 0).all()
    assert std[np.argmax(leverage)] > 3 * std[np.argmin(leverage)]
