"""The `nasflat` oracle on tiny real slices: graph encodings, source selection, the target sampler,
transfer, the pre-training cache and the one-line refusals."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from hwnas.core.errors import HwnasError
from hwnas.data import devices
from hwnas.predictors import nasflat, nasflat_train
from hwnas.predictors.nasflat_model import encode_graphs, graph_vocabulary
from hwnas.predictors.nasflat_train import PretrainConfig, TransferConfig

TINY = dict(source_rows=96, epochs=2, hidden=16, flow_dim=16, batch_size=64, ensemble=1,
            source_mix=False, sampler="kmeans_cosine")
TWO_SOURCES = ["1080ti_1", "pixel3"]


@pytest.fixture
def fbnet():
    return devices.search_space("fbnet")


def test_encodings_follow_the_operation_graph(nb201, fbnet):
    cells = encode_graphs(nb201, nb201.table_archs()[:5])
    assert cells.tokens.shape == (5, 8) and cells.adjacency.shape == (8, 8) and cells.pool.shape == (5, 8)
    assert cells.adjacency[0].sum() == 3 and cells.adjacency[:, 7].sum() == 3   # 3 edges leave the input, 3 reach the output
    none = graph_vocabulary(nb201).index("none")
    assert ((cells.tokens == none) == (cells.pool[:, :] == 0)[:, :]).numpy()[:, 1:].all()  # cut edges are not pooled
    chain = encode_graphs(fbnet, fbnet.table_archs()[:4])
    assert chain.tokens.shape == (4, 24) and torch.equal(chain.adjacency, torch.as_tensor(np.eye(24, k=1, dtype=np.float32)))
    assert chain.tokens[:, 0].eq(0).all() and chain.tokens[:, -1].eq(len(graph_vocabulary(fbnet)) - 1).all()


def test_sources_from_a_task_a_list_or_the_default(fbnet):
    assert nasflat.resolve_sources(fbnet, "titan_rtx_1", 3, None) == (
        "essential_ph_1", "pixel2", "pixel3", "raspi4", "samsung_s7")
    assert nasflat.resolve_sources(fbnet, "raspi4", None, TWO_SOURCES) == tuple(TWO_SOURCES)
    default = nasflat.resolve_sources(fbnet, "pixel3", None, None)
    assert "pixel3" not in default and "1080ti_1" in default      # task 0's sources without the target


@pytest.mark.parametrize("task, sources, device, match", [
    (None, ["1080ti_1", "no_such_gpu"], "raspi4", "unknown source device.*no_such_gpu"),
    (9, None, "raspi4", "task 9 out of range for fbnet; valid: 0, 1, 2, 3, 4, 5"),
    (None, ["raspi4", "pixel3"], "raspi4", "target device raspi4 is also a source"),
    (3, ["pixel3"], "raspi4", "not both"),
    (None, "pixel3", "raspi4", "sources must be a non-empty list of devices, got 'pixel3'"),
])
def test_bad_sources_are_one_line_errors(fbnet, task, sources, device, match):
    with pytest.raises(HwnasError, match=match) as info:
        nasflat.resolve_sources(fbnet, device, task, sources)
    assert "\n" not in str(info.value)


def test_too_few_samples_is_refused_before_any_training(fbnet, cache, monkeypatch):
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(HwnasError, match="at least 3 target samples; got samples=2"):
        nasflat.NasflatOracle(fbnet, "raspi4", samples=2, sources=TWO_SOURCES, **TINY)
    with pytest.raises(HwnasError, match="oracle nasflat: samples must be a whole number, got 'ten'"):
        nasflat.NasflatOracle(fbnet, "raspi4", samples="ten", sources=TWO_SOURCES, **TINY)


def test_sampler_is_deterministic_and_distinct(fbnet):
    x = fbnet.encode(fbnet.table_archs()[:600], "onehot")
    first, again = nasflat_train.select_samples(x, 10, 3), nasflat_train.select_samples(x, 10, 3)
    assert np.array_equal(first, again) and len(set(first.tolist())) == 10
    assert not np.array_equal(first, nasflat_train.select_samples(x, 10, 4))


def test_doptimal_picks_spread_the_design_more_than_random_picks():
    """Greedy D-optimal picks (sampler kmeans_doptimal) reach a larger log det of the inputs' information than random
    sets of the same size, skip rows already chosen and constant columns, and repeat for the same input."""
    rng = np.random.default_rng(0)
    design = np.column_stack([rng.normal(size=(400, 3)) @ rng.normal(size=(3, 5)), rng.normal(size=400), np.ones(400)])
    z = (design[:, :-1] - design[:, :-1].mean(0)) / design[:, :-1].std(0)

    def logdet(rows):
        return np.linalg.slogdet(0.1 * np.eye(z.shape[1]) + z[rows].T @ z[rows])[1]

    chosen = [0, 1, 2]
    picks = nasflat_train.doptimal_picks(design, chosen, 7)
    assert picks == nasflat_train.doptimal_picks(design, chosen, 7)
    assert len(set(picks)) == 7 and not set(picks) & set(chosen)
    randoms = [logdet(chosen + rng.choice(np.arange(3, 400), 7, replace=False).tolist()) for _ in range(50)]
    assert logdet(chosen + picks) > max(randoms)


def test_ioptimal_picks_lower_the_average_prediction_variance_more_than_random_picks():
    """Greedy I-optimal picks (sampler kmeans_ioptimal) leave a linear read-out a lower prediction variance averaged
    over every row, trace(M (Z'Z + 0.1 I)^-1), than random sets of the same size; they are not the D-optimal picks,
    skip rows already chosen and repeat for the same input."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    inputs[:20] += rng.normal(size=(20, 5)) * 8          # a few rows far out
    design = np.column_stack([inputs, np.ones(400)])
    z = (inputs - inputs.mean(0)) / inputs.std(0)
    moment = z.T @ z / len(z)

    def average_variance(rows):
        return np.trace(moment @ np.linalg.inv(0.1 * np.eye(z.shape[1]) + z[rows].T @ z[rows]))

    chosen = [30, 31, 32]
    picks = nasflat_train.ioptimal_picks(design, chosen, 7)
    assert picks == nasflat_train.ioptimal_picks(design, chosen, 7)
    assert len(set(picks)) == 7 and not set(picks) & set(chosen)
    assert picks != nasflat_train.doptimal_picks(design, chosen, 7)
    randoms = [average_variance(chosen + rng.choice(np.arange(33, 400), 7, replace=False).tolist()) for _ in range(50)]
    assert average_variance(chosen + picks) < min(randoms)


def test_doptimal_sampler_keeps_the_kmeans_half(fbnet):
    x = fbnet.encode(fbnet.table_archs()[:600], "onehot")
    design = np.random.default_rng(1).normal(size=(600, 4))
    paper, doptimal = nasflat_train.select_samples(x, 10, 3), nasflat_train.select_samples(x, 10, 3, design)
    assert np.array_equal(paper[:5], doptimal[:5]) and len(set(doptimal.tolist())) == 10
    assert doptimal[5:].tolist() == nasflat_train.doptimal_picks(design, paper[:5].tolist(), 5)
    ioptimal = nasflat_train.select_samples(x, 10, 3, design, "ioptimal")
    assert np.array_equal(paper[:5], ioptimal[:5])
    assert ioptimal[5:].tolist() == nasflat_train.ioptimal_picks(design, paper[:5].tolist(), 5)


@pytest.fixture
def tiny(fbnet, cache, one_thread):
    """A tiny NASFLAT pre-trained on two FBNet sources into the private cache."""
    return nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **TINY)


def test_reference_archs_are_measured_distinct_and_reproducible(tiny, fbnet):
    refs = tiny.reference_archs()
    assert len(set(refs)) == 10 and refs == tiny.reference_archs()
    assert np.isfinite(devices.latency_ms("fbnet", "raspi4")[fbnet.table_index(refs)]).all()


def test_doptimal_sampler_picks_from_the_sources_and_zero_cost_inputs(tiny, fbnet):
    """sampler=kmeans_doptimal: the same k-means half, then D-optimal picks over every source's log ms, the kernel
    share and log FLOPs (`sample_design`); measured and distinct like NASFLAT's."""
    other = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                  **{**TINY, "sampler": "kmeans_doptimal"})
    design = other.sample_design()
    assert design.shape == (len(fbnet.table_archs()), len(TWO_SOURCES) + 2)
    assert np.allclose(design[:, 0], np.log(devices.latency_ms("fbnet", "1080ti_1")))
    refs, paper = other.reference_archs(), tiny.reference_archs()
    assert refs[:5] == paper[:5] and refs[5:] != paper[5:] and len(set(refs)) == 10
    rows = np.asarray(fbnet.table_index(refs))
    assert rows[5:].tolist() == nasflat_train.doptimal_picks(design, rows[:5].tolist(), 5)
    third = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                  **{**TINY, "sampler": "kmeans_ioptimal"})
    rows = np.asarray(fbnet.table_index(third.reference_archs()))
    assert rows[:5].tolist() == np.asarray(fbnet.table_index(paper[:5])).tolist()
    assert rows[5:].tolist() == nasflat_train.ioptimal_picks(design, rows[:5].tolist(), 5)


def test_transfer_improves_ranking_on_held_out_architectures(fbnet, one_thread):
    """Fine-tuning on 20 target samples ranks 500 other architectures better than before it."""
    graphs = encode_graphs(fbnet, fbnet.table_archs())
    truth = devices.latency_ms("fbnet", "raspi4")
    torch.manual_seed(0)
    net = nasflat_train.build_net(len(graph_vocabulary(fbnet)), 24, 1, PretrainConfig(hidden=16, flow_dim=16))
    net.eval()
    samples, held_out = np.arange(20), np.arange(1000, 1500)
    before = spearmanr(nasflat_train.scores(net, graphs.take(held_out), 1), truth[held_out]).statistic
    tuned = nasflat_train.transfer(net, graphs.take(samples), truth[samples], None, TransferConfig(epochs=60))
    after = spearmanr(nasflat_train.scores(tuned, graphs.take(held_out), 1), truth[held_out]).statistic
    assert after > 0.5 and after > before + 0.2, (before, after)


def test_scores_do_not_depend_on_the_chunk_size(fbnet, one_thread):
    """Batched scoring gives every graph its own score whatever the chunk, up to float rounding (the chunk is a speed
    choice; a ragged last chunk included)."""
    graphs = encode_graphs(fbnet, fbnet.table_archs()[:300])
    torch.manual_seed(0)
    net = nasflat_train.build_net(len(graph_vocabulary(fbnet)), 24, 1, PretrainConfig(hidden=16, flow_dim=16))
    net.eval()
    whole = nasflat_train.scores(net, graphs, 1, chunk=300)
    np.testing.assert_allclose(nasflat_train.scores(net, graphs, 1, chunk=7), whole, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(nasflat_train.scores(net, graphs, 1), whole, rtol=1e-5, atol=1e-7)
    assert np.ptp(whole) > 0


def test_transfers_on_several_processes_give_the_same_oracle(fbnet, cache, one_thread):
    """transfer_workers changes the wall time only: two networks' transfers (main and folds) on forked workers give
    the in-process predictions to the bit, and leave torch's generator where the in-process run leaves it."""
    refs = None
    outcome = []
    for workers in (1, 3):
        oracle = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                       **{**TINY, "ensemble": 2, "transfer_workers": workers})
        refs = refs or oracle.reference_archs()
        torch.manual_seed(123)
        oracle.adapt(refs, devices.latency_ms("fbnet", "raspi4")[fbnet.table_index(refs)])
        outcome.append((oracle.predict_ms(fbnet.table_archs()), torch.rand(4)))
    (alone, after_alone), (pooled, after_pooled) = outcome
    assert np.array_equal(alone, pooled) and torch.equal(after_alone, after_pooled)


def test_a_transfer_worker_that_dies_is_one_line_not_a_hang(fbnet, monkeypatch):
    """A worker process killed mid-transfer (here: it exits) ends the adaptation with one line naming the remedy."""
    from hwnas.predictors import nasflat_jobs

    monkeypatch.setattr(nasflat_jobs, "can_fork", lambda: True)
    monkeypatch.setattr(nasflat_jobs.TransferJob, "run", lambda self: os._exit(9))
    graphs = encode_graphs(fbnet, fbnet.table_archs()[:6])
    net = nasflat_train.build_net(len(graph_vocabulary(fbnet)), 24, 1, PretrainConfig(hidden=8, flow_dim=8))
    job = nasflat_jobs.TransferJob(net, graphs, np.arange(1.0, 7.0), None, TransferConfig(epochs=1))
    with pytest.raises(HwnasError, match="a transfer worker process died") as info:
        nasflat_jobs.run_transfers([job, job], workers=2)
    assert "\n" not in str(info.value)


def test_embedding_stage_moves_only_the_target_row(tiny, fbnet):
    """transfer_embedding_epochs: the target's embedding row is fitted alone (every other weight as
    pre-trained) and ranks the held-out architectures better than where it started."""
    graphs = encode_graphs(fbnet, fbnet.table_archs())
    truth = devices.latency_ms("fbnet", "raspi4")
    samples, held_out = np.arange(20), np.arange(1000, 1500)
    row = len(TWO_SOURCES)
    start = copy.deepcopy(tiny.net)
    nasflat_train.start_target_row(start, [0, 1])
    fitted = nasflat_train.transfer(tiny.net, graphs.take(samples), truth[samples], [0, 1],
                                    TransferConfig(epochs=0, embedding_epochs=60, embedding_lr=5e-2))
    before, after = start.state_dict(), fitted.state_dict()
    for name, value in before.items():
        if name == "hw_emb.weight":
            assert torch.equal(value[:row], after[name][:row]) and not torch.equal(value[row], after[name][row])
        else:
            assert torch.equal(value, after[name]), name
    rho = [spearmanr(nasflat_train.scores(net, graphs.take(held_out), row), truth[held_out]).statistic
           for net in (start, fitted)]
    assert rho[1] > rho[0], rho


def test_best_source_ranks_the_samples_best():
    target = np.array([1.0, 2.0, 3.0, 4.0])
    sources = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 4.0, 3.0], [1.0, 2.0, 3.0, 5.0]])
    pick, rho = nasflat_train.best_source(sources, target)
    assert pick == 2 and rho[0] == pytest.approx(-1.0)


def test_pooled_sources_keeps_the_sources_tied_with_the_best():
    """The pool: sources whose log-latency correlation with the samples is within one standard error (Fisher z)
    of the best, best first; a source that fits clearly worse, or ranks backwards, stays out; fewer samples
    widen the pool."""
    log_t = np.linspace(-1.0, 1.0, 20)
    target = np.exp(log_t)
    noise = np.random.default_rng(0).normal(size=(3, 20))
    noise -= noise.mean(1, keepdims=True)
    noise -= np.outer(noise @ log_t / (log_t @ log_t), log_t)          # orthogonal to the target: r is exact
    noise *= np.linalg.norm(log_t) / np.linalg.norm(noise, axis=1, keepdims=True)

    def correlated(r, e):                                                # log latencies with Pearson r to log_t
        return np.exp(log_t + np.sqrt(1 / r ** 2 - 1) * e)

    # Fisher z: 0.9 -> 1.472, 0.87 -> 1.333 (within 1/sqrt(17) = 0.243), 0.6 -> 0.693 (not)
    sources = np.stack([correlated(0.87, noise[0]), correlated(0.9, noise[1]), correlated(0.6, noise[2]),
                        np.exp(-log_t)])
    pool, r = nasflat_train.pooled_sources(sources, target)
    assert list(pool) == [1, 0] and r[:3] == pytest.approx([0.87, 0.9, 0.6]) and r[3] == pytest.approx(-1.0)
    wide, _ = nasflat_train.pooled_sources(sources[:, :5], target[:5])
    assert set(pool) <= set(wide) and 3 not in wide


def test_stacked_readout_never_reverses_a_feature():
    """Every read-out input rises with latency; on few samples an unconstrained ridge fitted a negative weight
    to one of them and ranked essential_ph_1 backwards (0.234 at 10 samples): the weights stay >= 0."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(10, 3))
    log_ms = features[:, 0] - 0.8 * features[:, 1]          # the second input looks anti-correlated here
    fit = nasflat_train.ridge_fit(features, log_ms)
    for j in range(3):
        raised = features.copy()
        raised[:, j] += 1.0
        assert (fit(raised) >= fit(features) - 1e-12).all(), j
    assert fit(features)[np.argmax(features[:, 0])] > fit(features)[np.argmin(features[:, 0])]


def test_stacked_readout_is_never_constant():
    """When no input ranks the samples (every weight would be 0), the first input (the pre-trained score) keeps
    its order instead of a constant prediction (which has no Spearman)."""
    features = np.column_stack([np.arange(6.0), np.arange(6.0) ** 2])
    fit = nasflat_train.ridge_fit(features, -np.arange(6.0))
    assert (np.diff(fit(features)) > 0).all()


def test_bagged_readout_is_the_mean_of_seeded_bootstrap_fits():
    """bags > 0: the mean of the plain read-out fitted on `bags` seeded bootstrap draws (a draw whose latencies are
    all equal is skipped); the same seed gives the same fit, another seed another; no weight turns negative."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(12, 3))
    log_ms = features @ np.array([1.0, 0.5, 0.0]) + rng.normal(scale=0.3, size=12)
    draws = np.random.default_rng(7)
    draws = [d for d in (draws.integers(0, 12, 12) for _ in range(20)) if np.ptp(log_ms[d]) > 0]
    expected = np.mean([nasflat_train.ridge_fit(features[d], log_ms[d])(features) for d in draws], axis=0)
    bagged = nasflat_train.ridge_fit(features, log_ms, bags=20, seed=7)
    assert np.allclose(bagged(features), expected)
    assert np.allclose(nasflat_train.ridge_fit(features, log_ms, bags=20, seed=7)(features), expected)
    assert not np.allclose(nasflat_train.ridge_fit(features, log_ms, bags=20, seed=8)(features), expected)
    assert not np.allclose(nasflat_train.ridge_fit(features, log_ms)(features), expected)
    for j in range(3):
        raised = features.copy()
        raised[:, j] += 1.0
        assert (bagged(raised) >= bagged(features) - 1e-12).all(), j


def test_pretraining_is_cached_and_reused(tiny, fbnet, monkeypatch):
    assert nasflat.cache_path(nasflat.cache_key(fbnet, TWO_SOURCES, tiny.pretrain_cfg)).is_file()
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: pytest.fail("retrained despite the cache"))
    again = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **TINY)
    assert again.setup_cost().shared_measurements == 2 * TINY["source_rows"]
    other = nasflat.cache_key(fbnet, TWO_SOURCES[::-1], tiny.pretrain_cfg)
    assert nasflat.cache_path(other) != nasflat.cache_path(nasflat.cache_key(fbnet, TWO_SOURCES, tiny.pretrain_cfg))
    with pytest.raises(HwnasError, match="no pre-trained NASFLAT"):
        nasflat.NasflatOracle(fbnet, "raspi4", sources=TWO_SOURCES[::-1], train_if_missing=False, **TINY)


def test_adapted_oracle_predicts_positive_ms_batched(tiny, fbnet):
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    tiny.adapt(refs, truth[fbnet.table_index(refs)])
    assert tiny.chosen_source in TWO_SOURCES
    predicted = tiny.predict_ms(fbnet.table_archs())
    assert predicted.shape == (5000,) and (predicted > 0).all()
    assert 0.2 < np.median(predicted) / np.median(truth) < 5
    with pytest.raises(HwnasError, match="2 architectures but 3 latencies"):
        tiny.adapt(refs[:2], np.ones(3))


@pytest.mark.parametrize("readout", ["stacked", "finetune", "blend"])
def test_predictive_std_is_a_conformal_interval(fbnet, cache, one_thread, readout):
    """The spread is the jackknife scale of the read-out's held-out errors times the prediction: positive,
    reproducible, refused before adapt, and its 90 % interval holds most held-out architectures."""
    oracle = nasflat.NasflatOracle(fbnet, "raspi4", samples=20, seed=0, sources=TWO_SOURCES, readout=readout, **TINY)
    with pytest.raises(HwnasError, match="adapt"):
        oracle.predict_std_ms(fbnet.table_archs()[:3])
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = oracle.reference_archs()
    oracle.adapt(refs, truth[fbnet.table_index(refs)])
    archs = fbnet.table_archs()
    mean, std = oracle.predict_ms(archs), oracle.predict_std_ms(archs)
    ratio = std / mean
    assert (std > 0).all() and np.allclose(ratio, ratio[0])
    assert np.array_equal(std, oracle.predict_std_ms(archs))
    held_out = np.setdiff1d(np.arange(len(archs)), fbnet.table_index(refs))
    inside = np.abs(truth[held_out] - mean[held_out]) <= 1.6448536 * std[held_out]
    assert 0.8 <= inside.mean() <= 0.99 and ratio[0] < 0.3, (inside.mean(), ratio[0])   # tight, not vacuous
    assert oracle.has_uncertainty()


def test_ofa_layer_chain_transfers(cache, one_thread):
    """OFA/MobileNetV3 is a layer chain too: a tiny pre-training on two GPUs transfers to a third and ranks
    its held-out architectures."""
    ofa = devices.search_space("ofa_mbv3")
    oracle = nasflat.NasflatOracle(ofa, "v100_1", samples=20, seed=0, sources=["2080ti_1", "titan_xp_1"], **TINY)
    truth = devices.latency_ms("ofa_mbv3", "v100_1")
    refs = oracle.reference_archs()
    oracle.adapt(refs, truth[ofa.table_index(refs)])
    graphs = encode_graphs(ofa, ofa.table_archs()[:3])
    assert torch.equal(graphs.adjacency, torch.as_tensor(np.eye(graphs.tokens.shape[1], k=1, dtype=np.float32)))
    assert spearmanr(oracle.predict_ms(ofa.table_archs()), truth).statistic > 0.5


def test_source_input_reads_the_chosen_sources_table(tiny, fbnet):
    """source_input: the read-out gets one more input, the chosen source's measured log ms on table rows and
    the pre-trained estimate of it elsewhere; with it off the read-out inputs are unchanged."""
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    tiny.adapt(refs, truth[fbnet.table_index(refs)])
    plain_columns = tiny.readout_inputs[0].shape[1]
    with_source = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                        source_input=True, **TINY)
    with_source.adapt(refs, truth[fbnet.table_index(refs)])
    # a source column is added only when the chosen source ranks the samples positively; on this slice it does
    assert with_source.source_fit[TWO_SOURCES.index(with_source.chosen_source)] > 0
    features = with_source.readout_inputs[0]
    assert features.shape[1] == plain_columns + 1
    source_ms = devices.latency_ms("fbnet", with_source.chosen_source)
    assert np.allclose(features[:, -1], np.log(source_ms[fbnet.table_index(refs)]))
    table = with_source.predict_ms(fbnet.table_archs())
    assert table.shape == (5000,) and (table > 0).all()
    outside = np.array(fbnet.table_archs()[:3]).copy()
    outside[:, 0] = (outside[:, 0] + 1) % 9                    # most likely not in the table
    assert np.isfinite(with_source.predict_ms(outside)).all()


def test_ensemble_is_the_geometric_mean_of_its_pre_trainings(tiny, fbnet):
    """ensemble=2: pre-trainings with seeds 0 and 1, each transferred as alone; the prediction is the mean of
    their log ms, and the set-up counts both pre-trainings' seconds and each source measurement once."""
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    rows = fbnet.table_index(refs)
    second = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, pretrain_seed=1, **TINY)
    both = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **{**TINY, "ensemble": 2})
    for oracle in (tiny, second, both):
        oracle.adapt(refs, truth[rows])
    archs = fbnet.table_archs()
    alone = [oracle.predict_ms(archs) for oracle in (tiny, second)]
    assert not np.allclose(alone[0], alone[1])
    assert np.allclose(both.predict_ms(archs), np.sqrt(alone[0] * alone[1]))
    assert np.allclose(both.paper_readout_ms(), np.sqrt(tiny.paper_readout_ms() * second.paper_readout_ms()))
    cost, rows_seen = both.setup_cost(), set(tiny.entry["rows"]) | set(second.entry["rows"])
    assert cost.shared_measurements == len(rows_seen) * 2 < 2 * 2 * TINY["source_rows"]
    assert cost.shared_seconds == pytest.approx(tiny.entry["seconds"] + second.entry["seconds"])
    assert 0 < both.predict_std_ms(archs[:3]).min()


def test_blend_is_the_mean_log_ms_of_the_stacked_and_paper_read_outs(tiny, fbnet):
    """readout=blend: the same transfer as the stacked read-out, its prediction the geometric mean of the stacked
    and the paper's, in the table and off it (the batched forward pass); with source_mix, of the mixed stacked
    read-out and the paper's."""
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    tiny.adapt(refs, truth[fbnet.table_index(refs)])
    blend = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                  **{**TINY, "readout": "blend"})
    blend.adapt(refs, truth[fbnet.table_index(refs)])
    archs = fbnet.table_archs()
    stacked, paper = tiny.predict_ms(archs), tiny.paper_readout_ms()
    assert not np.allclose(stacked, paper)
    assert np.allclose(blend.predict_ms(archs), np.sqrt(stacked * paper))
    assert np.allclose(blend.predict_uncached_ms(archs[:64]), blend.predict_ms(archs[:64]), rtol=1e-5)
    assert np.allclose(blend.table_ms_without_mix(), blend.predict_ms(archs))
    mixed = {**TINY, "source_mix": True}
    both = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **mixed, readout="blend")
    mix_only = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **mixed)
    for oracle in (both, mix_only):
        oracle.adapt(refs, truth[fbnet.table_index(refs)])
    assert np.allclose(both.predict_ms(archs), np.sqrt(mix_only.predict_ms(archs) * paper))
    assert np.allclose(both.table_ms_without_mix(), blend.predict_ms(archs))


@pytest.mark.parametrize("key, value, match", [
    ("readout", "mean", "readout must be one of stacked, finetune, blend, got 'mean'"),
    ("ensemble", 0, "ensemble must be a whole number of pre-trainings >= 1, got 0"),
    ("ensemble", -1, "ensemble must be a whole number"), ("ensemble", 1.5, "ensemble must be a whole number"),
    ("ensemble", "abc", "ensemble must be a whole number"), ("ensemble", True, "ensemble must be a whole number"),
    ("source_mix", "maybe", "source_mix must be true or false, got 'maybe'"),
    ("source_input", 1, "source_input must be true or false, got 1"),
    ("supplementary", "maybe", "supplementary must be true or false, got 'maybe'"),
    ("source_rows", 0, "source_rows must be a whole number >= 2, got 0"),
    ("source_rows", "abc", "source_rows must be a whole number >= 2, got 'abc'"),
    ("epochs", 0, "epochs must be a whole number >= 1, got 0"),
    ("batch_size", 0, "batch_size must be a whole number >= 2, got 0"),
    ("hidden", 0, "hidden must be a whole number >= 1, got 0"), ("flow_dim", 2.5, "flow_dim must be a whole number"),
    ("transfer_epochs", -1, "transfer_epochs must be a whole number >= 0, got -1"),
    ("transfer_embedding_epochs", -1, "transfer_embedding_epochs must be a whole number >= 0"),
    ("pretrain_seed", -1, "pretrain_seed must be a whole number >= 0"), ("seed", "x", "seed must be a whole number"),
    ("lr", -1.0, "lr must be a number > 0, got -1.0"), ("transfer_lr", 0, "transfer_lr must be a number > 0, got 0"),
    ("readout_bags", -1, "readout_bags must be a whole number >= 0, got -1"),
    ("readout_bags", 2.5, "readout_bags must be a whole number >= 0, got 2.5"),
    ("sampler", "median", "sampler must be one of kmeans_cosine, kmeans_doptimal, kmeans_ioptimal, got 'median'"),
    ("transfer_workers", 0, "transfer_workers must be a whole number >= 1, got 0"),
    ("transfer_workers", "all", "transfer_workers must be a whole number >= 1, got 'all'"),
])
def test_bad_settings_are_refused_in_one_line(fbnet, cache, key, value, match, monkeypatch):
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(HwnasError, match=match) as info:
        nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **{**TINY, key: value})
    assert "\n" not in str(info.value)


def test_one_source_given_as_text_is_refused_not_split_into_letters(fbnet, cache, monkeypatch):
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(HwnasError, match="sources must be a non-empty list of devices, got 'pixel3'"):
        nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources="pixel3", **TINY)


def test_training_runs_on_a_fixed_thread_count(fbnet, cache, monkeypatch):
    """Pre-training and transfer run on TRAINING_THREADS torch threads whatever the caller set: with another count
    the float sums, and over the epochs the networks, differ, so one seed would give several cached networks."""
    seen = []
    train, adapt = nasflat.pretrain, nasflat.TransferredNet.adapt
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: seen.append(torch.get_num_threads()) or train(*a, **k))
    monkeypatch.setattr(nasflat.TransferredNet, "adapt",
                        lambda self, *a, **k: seen.append(torch.get_num_threads()) or adapt(self, *a, **k))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        oracle = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **TINY)
        refs = oracle.reference_archs()
        oracle.adapt(refs, devices.latency_ms("fbnet", "raspi4")[fbnet.table_index(refs)])
        assert torch.get_num_threads() == 2              # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert seen == [nasflat.TRAINING_THREADS] * 2


def test_null_read_out_settings_take_the_space_choice(fbnet, cache, one_thread, monkeypatch):
    """readout / source_mix / sampler null: the space's choice (SPACE_READOUTS, SPACE_SAMPLERS; FBNet: stacked with
    the mix, I-optimal samples), else stacked without the mix and NASFLAT's sampler; a given value wins; the paper's
    read-out, which has no inputs to mix into, never gets a mix by default."""
    plain = {k: v for k, v in TINY.items() if k not in ("source_mix", "sampler")}
    fbnet_default = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **plain)
    assert (fbnet_default.readout, fbnet_default.source_mix, fbnet_default.sampler) == ("stacked", True,
                                                                                        "kmeans_ioptimal")
    monkeypatch.delitem(nasflat.SPACE_READOUTS, "fbnet")
    monkeypatch.delitem(nasflat.SPACE_SAMPLERS, "fbnet")
    default = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **plain)
    assert (default.readout, default.source_mix) == nasflat.DEFAULT_READOUT == ("stacked", False)
    assert default.sampler == nasflat.DEFAULT_SAMPLER == "kmeans_cosine"
    monkeypatch.setitem(nasflat.SPACE_READOUTS, "fbnet", ("blend", True))
    chosen = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **plain)
    assert (chosen.readout, chosen.source_mix) == ("blend", True)
    given = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES, **plain, readout="stacked",
                                  source_mix=False, sampler="kmeans_doptimal")
    assert (given.readout, given.source_mix, given.sampler) == ("stacked", False, "kmeans_doptimal")
    assert nasflat.resolve_readout("fbnet", "finetune", None) == ("finetune", False)
    assert nasflat.resolve_readout("fbnet", None, False) == ("blend", False)


def test_the_adapted_oracle_reads_out_with_its_bags(tiny, fbnet):
    """readout_bags: one fit by default; with k, the adapted oracle's table is the bagged ridge, seeded by the
    transfer, over its read-out inputs; `table_ms_refit` reads the same transfer out with either."""
    given = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES, **TINY, readout_bags=4)
    assert (tiny.readout_bags, given.readout_bags) == (0, 4)
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    archs = fbnet.table_archs()
    for oracle, bags in ((tiny, 0), (given, 4)):
        oracle.adapt(refs, truth[fbnet.table_index(refs)])
        member = oracle.members[0]
        features, log_ms = member.readout_inputs
        fit = nasflat_train.ridge_fit(features, log_ms, bags=bags, seed=0)
        assert np.allclose(np.log(oracle.predict_ms(archs)), fit(member.table_features)), bags
    assert not np.allclose(tiny.predict_ms(archs), given.predict_ms(archs))
    assert np.allclose(given.table_ms_refit(bags=0), tiny.predict_ms(archs))      # the same transfer, one fit
    assert np.allclose(tiny.table_ms_refit(bags=4), given.predict_ms(archs))


@pytest.mark.parametrize("key", ["source_mix", "source_input"])
def test_a_stacked_input_with_the_paper_read_out_is_refused(fbnet, cache, key, monkeypatch):
    """source_mix / source_input feed the stacked read-out; with readout=finetune they would be ignored silently."""
    monkeypatch.setattr(nasflat, "pretrain", lambda *a, **k: pytest.fail("trained before validating"))
    with pytest.raises(HwnasError, match=f"{key}=true is an input of the stacked read-out.*got readout=finetune"):
        nasflat.NasflatOracle(fbnet, "raspi4", samples=10, sources=TWO_SOURCES,
                              **{**TINY, key: True, "readout": "finetune"})


def test_source_mix_is_an_honest_read_out_input(tiny, fbnet):
    """source_mix: one more read-out input, the ridge mix of the sources' log ms; on the samples it is out of
    fold (no sample's own latency in its value), on the table the mix fitted on all samples; off the table the
    sources' log ms are estimated, so every prediction is finite."""
    truth = devices.latency_ms("fbnet", "raspi4")
    refs = tiny.reference_archs()
    rows = fbnet.table_index(refs)
    tiny.adapt(refs, truth[rows])
    mixed = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                   **{**TINY, "source_mix": True})
    mixed.adapt(refs, truth[rows])
    features, log_ms = mixed.readout_inputs
    assert features.shape[1] == tiny.readout_inputs[0].shape[1] + 1
    changed = truth[rows].copy()
    changed[0] *= 3.0                                      # one sample's latency moves: its own mix value must not
    again = nasflat.NasflatOracle(fbnet, "raspi4", samples=10, seed=0, sources=TWO_SOURCES,
                                  **{**TINY, "source_mix": True})
    again.adapt(refs, changed)
    assert again.readout_inputs[0][0, -1] == features[0, -1] and not np.allclose(again.readout_inputs[0][1:, -1],
                                                                                   features[1:, -1])
    assert np.allclose(mixed.table_ms_without_mix(), tiny.predict_ms(fbnet.table_archs()))   # the same transfers
    sources = np.log(np.stack([devices.latency_ms("fbnet", s) for s in TWO_SOURCES], 1))
    _, mix = nasflat_train.source_mix(sources[rows], log_ms, 0)
    assert np.allclose(mixed._table_features[:, -1], mix(sources))
    outside = np.array(fbnet.table_archs()[:3]).copy()
    outside[:, 0] = (outside[:, 0] + 1) % 9
    assert np.isfinite(mixed.predict_ms(outside)).all() and (mixed.predict_ms(fbnet.table_archs()) > 0).all()


def test_outlier_samples_are_those_no_source_mix_explains():
    """A sample far off the sources' mix (robust z > 3) is found, at most one in ten and the largest first; ordinary
    noise, or fewer than ten samples, leave every sample in."""
    rng = np.random.default_rng(0)
    sources = rng.normal(3.0, 0.3, size=(20, 4))
    log_ms = sources @ np.array([0.5, 0.3, 0.2, 0.0]) + rng.normal(0, 0.02, 20)
    assert nasflat_train.outlier_samples(sources, log_ms, 0).size == 0
    glitch = log_ms.copy()
    glitch[[3, 11]] += [1.2, 1.5]
    assert nasflat_train.outlier_samples(sources, glitch, 0).tolist() == [3, 11]
    assert nasflat_train.outlier_samples(sources[:10], glitch[:10], 0).tolist() == [3]
    assert nasflat_train.outlier_samples(sources[:9], glitch[:9], 0).size == 0
    # side="slow": interference only adds time, so a sample measured faster than the mix says stays in
    fast_and_slow = log_ms.copy()
    fast_and_slow[[3, 11]] += [-1.5, 1.2]
    assert nasflat_train.outlier_samples(sources, fast_and_slow, 0).tolist() == [3, 11]
    assert nasflat_train.outlier_samples(sources, fast_and_slow, 0, side="slow").tolist() == [11]
    assert nasflat_train.outlier_samples(sources, glitch, 0, per=20).tolist() == [11]    # one in twenty
    assert nasflat_train.outlier_samples(sources[:19], glitch[:19], 0, per=20).size == 0


def test_rejection_leaves_the_glitch_out_of_the_whole_transfer(fbnet, cache, one_thread):
    """reject_outliers: adapt() leaves out the sample the sources cannot explain, from the source choice, the
    fine-tuning and the read-out alike: the same predictions as a transfer given only the other samples."""
    truth = devices.latency_ms("fbnet", "raspi4")
    settings = dict(samples=10, seed=0, sources=["1080ti_1", "pixel3", "samsung_s7"], **TINY)
    rejecting = nasflat.NasflatOracle(fbnet, "raspi4", **settings, reject_outliers=True)
    refs = rejecting.reference_archs()
    measured = truth[fbnet.table_index(refs)].copy()
    measured[4] *= 3.0                                     # a glitch: three times slower than its architecture
    rejecting.adapt(refs, measured)
    assert rejecting.rejected == [refs[4]]
    plain = nasflat.NasflatOracle(fbnet, "raspi4", **settings)
    assert plain.reject_outliers is False                  # off by default: an option (its rule failed)
    kept = [i for i in range(len(refs)) if i != 4]
    plain.adapt([refs[i] for i in kept], measured[kept])
    assert plain.rejected == []
    assert np.allclose(rejecting.predict_ms(fbnet.table_archs()), plain.predict_ms(fbnet.table_archs()))
    with pytest.raises(HwnasError, match="reject_outliers") as info:
        nasflat.NasflatOracle(fbnet, "raspi4", **settings, reject_outliers="yes")
    assert "\n" not in str(info.value)
    with pytest.raises(HwnasError, match="reject_per must be a whole number >= 1, got 0"):
        nasflat.NasflatOracle(fbnet, "raspi4", **settings, reject_per=0)
    with pytest.raises(HwnasError, match="reject_side must be one of both, slow, got 'fast'"):
        nasflat.NasflatOracle(fbnet, "raspi4", **settings, reject_side="fast")
