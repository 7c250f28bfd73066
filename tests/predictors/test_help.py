"""HELP oracle: embedding, adaptation, batched prediction, cache keys and bad input (tiny meta-training)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.predictors import help_cache
from hwnas.predictors.help import HelpOracle, ensure_meta_trained
from hwnas.predictors.help_meta import MetaConfig, hardware_embedding, normalise
from hwnas.predictors.help_model import HelpNet, ZModulator, nb201_graph_features

TINY = dict(episodes=4, inner_tasks=2, query=20, valid_every=2, mc_samples=2, layer_size=16,
            valid_query_rows=100)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_hardware_embedding_is_min_max_of_reference_latency():
    emb = hardware_embedding(np.array([4.0, 2.0, 6.0]))
    assert np.allclose(emb, [0.5, 0.0, 1.0])
    assert np.allclose(normalise(np.array([8.0]), np.array([4.0, 2.0, 6.0])), [1.5])
    with pytest.raises(HwnasError, match="finite"):
        hardware_embedding(np.array([1.0, np.nan]))
    with pytest.raises(HwnasError, match="same latency"):
        hardware_embedding(np.array([3.0, 3.0]))


def test_graph_has_global_node_reading_every_node(nb201):
    feat, adj = nb201_graph_features(nb201, [(0, 1, 2, 3, 4, 0)])
    assert feat.shape == (1, 9, 8) and adj.shape == (1, 9, 9)
    assert adj[0, -1].all()                       # the global node aggregates every node
    assert np.allclose(np.diag(adj[0]), 1.0)      # self-loops
    assert feat[0, -1, -1] == 1 and feat[0, :-1, -1].sum() == 0


def test_z_modulation_scales_head_inputs_and_shifts_biases():
    net, zmod = HelpNet("mlp", 5, layer_size=4), ZModulator(layer_size=4, scale=0.5)
    z = torch.ones(zmod.size)
    p = zmod.modulate(net.params(), z)
    assert torch.allclose(p["head1.weight"], net.head1.weight * 1.5)
    assert torch.allclose(p["head3.bias"], net.head3.bias + 0.5)
    assert torch.equal(p["enc1.weight"], net.enc1.weight)


def test_oracle_adapts_on_reference_archs_and_predicts_whole_space(nb201, cache):
    oracle = HelpOracle(nb201, "pixel2", **TINY)
    refs = oracle.reference_archs()
    assert len(refs) == 10
    truth = devices.latency_ms("nasbench201", "pixel2")
    oracle.adapt(refs, truth[nb201.index(refs)])
    archs = nb201.table_archs()
    pred = oracle.predict_ms(archs)
    assert pred.shape == (15_625,) and np.isfinite(pred).all()
    assert np.allclose(oracle.predict_ms(archs[:50]), pred[:50], rtol=1e-4, atol=1e-4)  # batch-invariant
    # even a tiny meta-training ranks a real device's architectures better than chance
    assert spearmanr(pred, truth).statistic > 0.2
    assert oracle.setup_cost().shared_measurements > 0 and oracle.setup_cost().target_measurements == 0
    # the spread over HELP's Monte-Carlo z draws: one non-negative value per arch, not all zero
    std = oracle.predict_std_ms(archs)
    assert std.shape == (15_625,) and (std >= 0).all() and std.max() > 0


def test_same_seed_same_prediction_and_extra_samples(nb201, cache):
    truth = devices.latency_ms("nasbench201", "raspi4")
    preds = []
    for _ in range(2):
        oracle = HelpOracle(nb201, "raspi4", samples=14, seed=3, **TINY)
        refs = oracle.reference_archs()
        assert len(refs) == 14 and len(set(refs)) == 14
        oracle.adapt(refs, truth[nb201.index(refs)])
        preds.append(oracle.predict_ms(nb201.table_archs()[:200]))
    assert np.array_equal(preds[0], preds[1])


def test_bad_input_is_refused(nb201, cache):
    with pytest.raises(HwnasError, match="at least 10"):
        HelpOracle(nb201, "pixel2", samples=5, **TINY)
    with pytest.raises(HwnasError, match="unknown option"):
        HelpOracle(nb201, "pixel2", episdes=3, **TINY)
    oracle = HelpOracle(nb201, "pixel2", **TINY)
    with pytest.raises(HwnasError, match="adapt"):
        oracle.predict_ms(nb201.table_archs()[:3])
    refs = oracle.reference_archs()
    with pytest.raises(HwnasError, match="reference"):
        oracle.adapt(refs[:9] + [nb201.table_archs()[0]], np.arange(1.0, 11.0))
    with pytest.raises(HwnasError, match="non-finite"):
        oracle.adapt(refs, np.r_[np.arange(1.0, 10.0), np.nan])


@pytest.mark.parametrize("key, value, match", [
    ("layer_size", 0, "HELP: layer_size must be a whole number >= 1, got 0"),
    ("episodes", 0, "HELP: episodes must be a whole number >= 1, got 0"),
    ("inner_steps", -1, "HELP: inner_steps must be a whole number >= 0"),
    ("support", 0, "HELP: support must be a whole number >= 2"),
    ("mc_samples", 0, "HELP: mc_samples must be a whole number >= 1"),
    ("meta_lr", 0, "HELP: meta_lr must be a number > 0, got 0"),
    ("kl_scaling", -0.1, "HELP: kl_scaling must be a number >= 0"),
    ("z_on", "maybe", "HELP: z_on must be true or false, got 'maybe'"),
    ("ensemble", 0, "oracle help: ensemble must be a whole number >= 1, got 0"),
    ("seed", "x", "oracle help: seed must be a whole number"),
    ("eval_steps", -1, "oracle help: eval_steps must be a whole number >= 0"),
])
def test_bad_settings_are_one_line_before_meta_training(nb201, cache, monkeypatch, key, value, match):
    monkeypatch.setattr("hwnas.predictors.help.ensure_meta_trained",
                        lambda *a, **k: pytest.fail("meta-trained before validating"))
    with pytest.raises(HwnasError, match=match) as info:
        HelpOracle(nb201, "pixel2", **{**TINY, key: value})
    assert "\n" not in str(info.value)


def test_no_cache_and_no_training_tells_user_to_meta_train(nb201, cache):
    with pytest.raises(HwnasError, match="hwnas meta-train space=nasbench201"):
        HelpOracle(nb201, "pixel2", train_if_missing=False, **TINY)


def test_cache_reused_and_foreign_or_corrupt_cache_rejected(nb201, cache):
    cfg = MetaConfig(**TINY).resolved("nasbench201")
    first = ensure_meta_trained(nb201, cfg)
    again = ensure_meta_trained(nb201, cfg, train_if_missing=False)
    assert again["seconds"] == first["seconds"]            # loaded, not retrained
    key = help_cache.cache_key(nb201, cfg)
    # the data identity names the files HELP reads, as it always has (caches stay valid)
    assert list(key["data"]) == ["help/nasbench201/latency.csv.gz", "help/nasbench201/hardware_embedding_index.json"]
    path = help_cache.cache_path(key)
    # a file written under another key (other version or space) at this path is refused
    torch.save({**torch.load(path, weights_only=False), "key": {**key, "code": "help-0/old"}}, path)
    with pytest.raises(HwnasError, match="different code"):
        ensure_meta_trained(nb201, cfg, train_if_missing=False)
    path.write_bytes(b"not a torch file")
    with pytest.raises(HwnasError, match="corrupt HELP cache"):
        ensure_meta_trained(nb201, cfg, train_if_missing=False)
    retrained = ensure_meta_trained(nb201, cfg)             # retrains cleanly over the bad file
    assert help_cache.load(key) is not None and retrained["best_episode"] >= 1
    # another configuration is another cache entry
    other = MetaConfig(**{**TINY, "layer_size": 8}).resolved("nasbench201")
    assert help_cache.cache_path(help_cache.cache_key(nb201, other)) != path


def test_unsupported_space_is_refused(cache):
    from hwnas.core.space import SearchSpace

    class Toy(SearchSpace):
        name = "toy"

        def dimensions(self):
            return []

        def to_string(self, arch):
            return ""

        def from_string(self, text):
            return ()

        def build(self, arch):
            return None

    with pytest.raises(HwnasError, match="supports spaces"):
        HelpOracle(Toy(), "pixel2", **TINY)


@pytest.mark.parametrize("module, cls, device", [("hwnas.search_spaces.fbnet", "FBNet", "raspi4"),
                                                 ("hwnas.search_spaces.ofa_mbv3", "OfaMobileNetV3", "titan_rtx_64")])
def test_mlp_spaces_predict_their_5000_rows(module, cls, device, cache):
    import importlib

    space = getattr(importlib.import_module(module), cls)()
    oracle = HelpOracle(space, device, **{**TINY, "meta_train_rows": 300})
    refs = oracle.reference_archs()
    truth = devices.latency_ms(space.name, device)
    oracle.adapt(refs, truth[space.table_index(refs)])
    pred = oracle.predict_ms(space.table_archs())
    assert pred.shape == (5_000,) and np.isfinite(pred).all()
    assert np.allclose(oracle.predict_ms(space.table_archs()[:20]), pred[:20], rtol=1e-4, atol=1e-4)


def test_conformal_spread_is_reproducible_and_does_not_change_the_prediction(nb201, cache):
    truth = devices.latency_ms("nasbench201", "pixel2")
    stds, means = [], []
    for _ in range(2):
        oracle = HelpOracle(nb201, "pixel2", **TINY)
        refs = oracle.reference_archs()
        oracle.adapt(refs, truth[nb201.index(refs)])
        archs = nb201.table_archs()
        means.append(oracle.predict_ms(archs))
        stds.append(oracle.predict_std_ms(archs))
        assert np.array_equal(oracle.predict_ms(archs), means[-1])   # the jackknife leaves the fit alone
    assert np.array_equal(stds[0], stds[1]) and np.array_equal(means[0], means[1])
    # a scale of the prediction: mean +- 1.645 std is the conformal interval of the references' errors
    ratio = stds[0] / means[0]
    assert np.allclose(ratio, ratio[0]) and ratio[0] > 0


def test_reference_inflation_is_computed_on_validation_devices_once_and_cached(nb201, cache):
    truth = devices.latency_ms("nasbench201", "pixel2")
    oracle = HelpOracle(nb201, "pixel2", **TINY)
    refs = oracle.reference_archs()
    oracle.adapt(refs, truth[nb201.index(refs)])
    inflation = oracle._inflation()
    stored = list((cache / "help").glob("nasbench201-inflation-*.json"))
    assert len(stored) == 1 and 0 < inflation < 10
    ratios = json.loads(stored[0].read_text())["ratios"]
    assert set(ratios) == set(oracle.learners[0].cfg.valid_devices)   # validation devices, never the target
    assert "pixel2" not in ratios
    assert oracle._inflation() == inflation                            # read back from the cache


@pytest.mark.parametrize("n, folds", [(10, 10), (23, 10)])
def test_conformal_residuals_leave_one_out_up_to_ten_then_ten_fold(nb201, cache, n, folds):
    """Each measurement predicted by an inner loop that never saw it: one left out per fit up to MAX_FOLDS
    measurements, beyond that MAX_FOLDS folds (a refit on 35 refine measurements costs 10 inner loops, not 35)."""
    truth = devices.latency_ms("nasbench201", "pixel2")
    oracle = HelpOracle(nb201, "pixel2", **TINY)
    archs = oracle.reference_archs() + [tuple(int(v) for v in a) for a in nb201.table_archs()[:n - 10]]
    oracle.adapt(archs, truth[nb201.index(archs)])
    learner = oracle.learners[0]
    fitted_on, adapt = [], learner.adapt

    def counting(hw, xs, ys, *args, **kwargs):
        fitted_on.append(len(ys))
        return adapt(hw, xs, ys, *args, **kwargs)

    learner.adapt = counting
    residuals = oracle._leave_one_out_ms(oracle._xs, oracle._ys)
    draws = len(fitted_on) // folds
    assert len(fitted_on) == folds * draws and draws >= 1
    assert sorted(set(fitted_on)) == sorted({n - len(range(f, n, folds)) for f in range(folds)})   # each fold left out
    assert residuals.shape == (n,) and np.isfinite(residuals).all()


def test_training_runs_on_a_fixed_thread_count(nb201, cache, monkeypatch):
    """Meta-training, adaptation, the leave-one-out adaptations and prediction run on TRAINING_THREADS torch threads
    whatever the caller set: a full NB201 meta-training under 1 and under 2 threads ended in different predictors
    (pixel2 0.8978 and 0.8974), and the cache does not key on the thread count."""
    from hwnas.measure.timing import TRAINING_THREADS
    from hwnas.predictors import help as help_oracle
    from hwnas.predictors.help_meta import MetaLearner

    seen = []
    train, adapt = help_oracle.meta_train, MetaLearner.adapt

    def recorded(call):
        return lambda *a, **k: seen.append(torch.get_num_threads()) or call(*a, **k)

    monkeypatch.setattr(help_oracle, "meta_train", recorded(train))
    monkeypatch.setattr(MetaLearner, "adapt", recorded(adapt))
    torch.set_num_threads(2)        # the one_thread fixture restores the caller's setting afterwards
    oracle = HelpOracle(nb201, "pixel2", **TINY)
    refs = oracle.reference_archs()
    oracle.adapt(refs, devices.latency_ms("nasbench201", "pixel2")[nb201.table_index(refs)])
    oracle.predict_std_ms(refs[:2])
    forward = HelpNet.forward
    monkeypatch.setattr(HelpNet, "forward", recorded(forward))
    oracle.predict_ms(nb201.table_archs()[:50])                    # the forward pass too
    assert torch.get_num_threads() == 2
    assert seen[0] == TRAINING_THREADS and len(seen) > 3
    assert set(seen) == {TRAINING_THREADS}
