"""HELP's per-space settings (FBNet encoding and rows), the `help_ensemble` oracle, and NASFLAT coverage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from hwnas import data

from hwnas.data import devices
from hwnas.config import conf_dir
from hwnas.core.errors import HwnasError
from hwnas.predictors.help import HelpOracle
from hwnas.predictors.help_ensemble import HelpEnsembleOracle
from hwnas.predictors.help_meta import MetaConfig, SpaceData, factorised_blocks

TINY = dict(episodes=4, inner_tasks=2, query=20, valid_every=2, mc_samples=2, layer_size=16, valid_query_rows=100)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fbnet():
    from hwnas.search_spaces.fbnet import FBNet

    return FBNet()


def test_fbnet_factorised_encoding_is_kernel_plus_block_type(fbnet):
    ops = [d for d in fbnet.dimensions()[0].choices]
    arch = [ops.index("k5_e6"), ops.index("skip"), ops.index("k3_e1_g2")] + [ops.index("k3_e3")] * 19
    x = factorised_blocks(fbnet, [arch])
    assert x.shape == (1, 132)
    layers = x.reshape(22, 6)                       # (k3, k5, e1, e1_g2, e3, e6)
    assert layers[0].tolist() == [0, 1, 0, 0, 0, 1]
    assert layers[1].sum() == 0                     # skip: no kernel, no block
    assert layers[2].tolist() == [1, 0, 0, 1, 0, 0]
    assert (layers[3:] == [1, 0, 0, 0, 1, 0]).all()
    # every table row has one kernel and one block type per non-skip layer
    rows = SpaceData(fbnet).inputs.numpy().reshape(-1, 22, 6)
    non_skip = fbnet.table_archs() != ops.index("skip")
    assert np.array_equal(rows[..., :2].sum(-1), non_skip) and np.array_equal(rows[..., 2:].sum(-1), non_skip)


def test_space_defaults_follow_helps_scripts():
    fb = MetaConfig().resolved("fbnet")
    assert (fb.episodes, fb.meta_train_rows, fb.encoding) == (4000, 4000, "factorised")
    nb = MetaConfig().resolved("nasbench201")
    assert (nb.episodes, nb.meta_train_rows, nb.encoding) == (2000, 900, "graph")
    assert MetaConfig(episodes=7).resolved("fbnet").episodes == 7
    assert MetaConfig(encoding="onehot").resolved("fbnet").encoding == "onehot"
    with pytest.raises(HwnasError, match="unknown encoding 'graph'"):
        MetaConfig(encoding="graph").resolved("fbnet")
    # the YAML leaves them to the space (null), so the command and the oracle resolve the same key
    from omegaconf import OmegaConf

    node = OmegaConf.load(conf_dir() / "oracle" / "help.yaml")
    assert node.episodes is None and node.meta_train_rows is None and node.encoding is None


def test_ensemble_is_the_mean_of_its_validation_best_members(nb201, cache):
    """Without z sampling each member is deterministic: the ensemble's prediction is the mean of the members
    whose mean ranks the validation devices best; the choice is cached."""
    opts = dict(TINY, z_on=False)
    truth = devices.latency_ms("nasbench201", "raspi4")
    ens = HelpEnsembleOracle(nb201, "raspi4", ensemble=3, select_seeds=1, **opts)
    scores = {tuple(int(i) for i in k.split(",")): v for k, v in ens.selection_scores.items()}
    assert len(scores) == 7 and scores[tuple(ens.selected)] == max(scores.values())
    singles = [HelpOracle(nb201, "raspi4", meta_seed=k, **opts) for k in range(3)]
    refs = ens.reference_archs()
    for oracle in [ens] + singles:
        oracle.adapt(refs, truth[nb201.index(refs)])
    archs = nb201.table_archs()[:500]
    members = [o.predict_ms(archs) for o in singles]
    assert not np.allclose(members[0], members[1])            # different meta seeds
    expected = np.mean([members[i] for i in ens.selected], axis=0)
    assert np.allclose(ens.predict_ms(archs), expected, rtol=1e-5, atol=1e-5)
    # the members share their source measurements; their meta-training seconds add up
    assert ens.setup_cost().shared_measurements == singles[0].setup_cost().shared_measurements
    assert ens.setup_cost().shared_seconds == pytest.approx(sum(o.setup_cost().shared_seconds for o in singles))
    assert len(list((cache / "help").glob("nasbench201-select-*.json"))) == 1
    again = HelpEnsembleOracle(nb201, "raspi4", ensemble=3, select_seeds=1, **opts)
    assert again.selected == ens.selected and again.selection_scores == ens.selection_scores


def test_ensemble_refuses_bad_settings(nb201, cache):
    with pytest.raises(HwnasError, match="ensemble must be >= 2"):
        HelpEnsembleOracle(nb201, "raspi4", ensemble=1, **TINY)
    with pytest.raises(HwnasError, match="select_seeds must be a whole number >= 1"):
        HelpEnsembleOracle(nb201, "raspi4", select_seeds=0, **TINY)


def test_nasflat_coverage_matches_the_data():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments"))
    from help_nasflat import plan
    from hwnas.search_spaces.nasbench201 import NasBench201

    tasks = json.loads(data.data_file("nasflat/tasks.json").read_text())
    nb = {p["task"]: p for p in plan(tasks, "nb201", SpaceData(NasBench201()))}
    assert [t for t, p in nb.items() if not p["covered"]] == [1, 3, 4]   # sources lacking a full table
    assert nb[0]["targets"] == ["titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"]
    assert nb[5]["targets"] == ["eyeriss"] and nb[5]["valid"] == ["titanx_256"]
    assert any("1 of the 10 reference archs" in n for n in nb[5]["notes"])
    for p in nb.values():                       # validation never uses a source or a target
        assert not set(p["valid"]) & (set(p["sources"]) | set(p["targets"]))


def test_comparison_switches_keep_the_cache_key_at_their_defaults(fbnet):
    """The switches that reproduce other HELP runs (label_scale, valid_query, valid_steps) are left out of the
    settings at their defaults, so every predictor cached before they existed keeps its key."""
    from hwnas.predictors import help_cache

    cfg = MetaConfig().resolved("fbnet")
    assert not {"label_scale", "valid_query", "valid_steps"} & set(cfg.to_dict())
    changed = MetaConfig(label_scale="device_rows", valid_query="all_rows", valid_steps=16).resolved("fbnet")
    assert changed.to_dict()["label_scale"] == "device_rows" and changed.to_dict()["valid_steps"] == 16
    assert help_cache.cache_key(fbnet, cfg) != help_cache.cache_key(fbnet, changed)
    with pytest.raises(HwnasError, match="unknown label_scale 'ms'; valid: reference, device_rows"):
        MetaConfig(label_scale="ms").resolved("fbnet")
    with pytest.raises(HwnasError, match="unknown valid_query 'some'"):
        MetaConfig(valid_query="some").resolved("fbnet")


def test_device_row_labels_and_all_row_queries(fbnet):
    """label_scale=device_rows: 0 and 1 are the device's fastest and slowest meta-training rows (HELP's code);
    valid_query=all_rows: the validation queries are every table row (the NASFLAT authors' fork)."""
    from hwnas.predictors.help_meta import device_task

    sd = SpaceData(fbnet)
    latency = devices.latency_ms("fbnet", "raspi4")
    base = device_task(sd, "raspi4", MetaConfig().resolved("fbnet"))
    ref = latency[sd.reference_rows]
    assert np.allclose(base.y, (latency - ref.min()) / (ref.max() - ref.min()), atol=1e-5)
    assert base.query_rows.min() >= 4000 and len(base.query_rows) == 800
    cfg = MetaConfig(label_scale="device_rows", valid_query="all_rows", remove_outliers=False).resolved("fbnet")
    task = device_task(sd, "raspi4", cfg)
    assert task.y[task.train_rows].min() == pytest.approx(0) and task.y[task.train_rows].max() == pytest.approx(1)
    assert task.y[4000:].max() != pytest.approx(1)              # scaled by rows 0..3999 only
    assert np.array_equal(np.sort(task.query_rows), np.arange(5000))


def test_authors_help_ablation_switches_one_difference_at_a_time():
    """experiments/help_tasks_ablation.py: every '+' row changes hwnas's 2000-episode settings in one respect
    (the authors' validation is one: devices, query rows and steps), and the combined row holds them all."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments"))
    from help_tasks_ablation import AUTHORS_VALID, task_plan, variants

    sources, valid, targets = task_plan(5)
    assert len(sources) == 15 and valid == ("gold_6240",) and "pixel2" in targets
    rows = variants(sources)
    base = rows["hwnas, 2000 episodes"]
    for name, change in rows.items():
        if name.startswith("+ "):
            extra = {k for k in change if k not in base}
            assert extra and (len(extra) == 1 or extra == {"valid_devices", "valid_query", "valid_steps"}), name
            assert all(rows["authors' settings"][k] == change[k] for k in extra), name
    assert rows["authors' settings"]["valid_devices"] == AUTHORS_VALID
    for name, change in rows.items():     # every row resolves to a valid HELP configuration
        MetaConfig(**{**change, "train_devices": sources}).resolved("fbnet")
