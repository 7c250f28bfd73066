"""Concurrent writers of every predictor cache (HELP weights, operator tables, ensemble selections)."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import types
import uuid

import numpy as np

from hwnas.predictors import help_cache, help_ensemble, operator_lut


def _pool_map(worker, folder, n: int = 4) -> list[str]:
    with mp.get_context("spawn").Pool(n) as pool:
        return pool.map(worker, [(str(folder), w) for w in range(n)])


def _first_error(run) -> str:
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return f"{type(exc).__name__}: {exc}"
    return ""


def _help_saver(args) -> str:
    """Two threads of one process save and load the same HELP entry 40 times each."""
    folder, worker = args
    import os

    os.environ[help_cache.CACHE_ENV] = folder
    key = {"format": 1, "space": "nasbench201", "config": {"k": 1}}
    errors: list[str] = []

    def loop(thread: int) -> None:
        for i in range(40):
            value = worker * 10000 + thread * 1000 + i
            help_cache.save(key, {"state": {"w": np.full(2000, float(value))}})
            entry = help_cache.load(key)
            assert entry["key"] == key and len(set(entry["state"]["w"].tolist())) == 1

    threads = [threading.Thread(target=lambda t=t: errors.append(_first_error(lambda: loop(t)))) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return "; ".join(e for e in errors if e)


def test_help_weights_concurrent_saves(tmp_path):
    assert _pool_map(_help_saver, tmp_path) == [""] * 4
    assert [p.name for p in (tmp_path / "help").iterdir()] == [
        help_cache.cache_path({"format": 1, "space": "nasbench201", "config": {"k": 1}}).name]


class _OneOperatorSpace:
    """A space whose operator list is new at every call, so every OperatorLUT built measures and saves."""

    name, num_classes = "fbnet", 10

    def operators(self):
        return [types.SimpleNamespace(key=f"op-{uuid.uuid4().hex}", input_shape=(1, 1))]

    def operator_index(self, archs):
        return np.zeros((len(archs), 1), dtype=int)

    def build_operator(self, spec):
        return None


def _lut_builder(args) -> str:
    folder, _ = args
    operator_lut.devices = types.SimpleNamespace(require_device=lambda space, device: None)
    operator_lut.measure_latency_ms = lambda module, shape, settings: types.SimpleNamespace(
        median_ms=1.0, iqr_ms=0.0, repeats=5, stable=True, seconds=0.0)
    space = _OneOperatorSpace()
    return _first_error(lambda: [operator_lut.OperatorLUT(space, "pixel3", cache_dir=folder) for _ in range(60)])


def test_operator_table_concurrent_saves(tmp_path):
    assert _pool_map(_lut_builder, tmp_path) == [""] * 4
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith("operator_lut_fbnet_")
    assert len(json.loads(files[0].read_text())["entries"]) >= 60


def _selector(args) -> str:
    """Select members for 60 fresh keys (one file each); every file read back must be whole."""
    folder, _ = args
    import os

    os.environ[help_cache.CACHE_ENV] = folder
    help_cache.cache_key = lambda space, cfg: {"cfg": cfg}
    help_ensemble.member_scores = lambda learners, sd, seeds: {(0, 1): 0.5, (0,): 0.7, (1,): 0.4}
    space = types.SimpleNamespace(name="nasbench201")

    def run() -> None:
        for i in range(60):
            members, scores = help_ensemble.select_members(space, [i, "pad" * 2000], [], None, 3)
            assert members == [0] and scores["0"] == 0.7
            for path in (help_cache.cache_dir() / "help").glob("*-select-*.json"):
                json.loads(path.read_text())

    return _first_error(run)


def test_ensemble_selection_concurrent_saves(tmp_path):
    assert _pool_map(_selector, tmp_path) == [""] * 4
    assert len(list((tmp_path / "help").glob("nasbench201-select-*.json"))) == 60
    assert not [p for p in (tmp_path / "help").iterdir() if p.suffix != ".json"]
