"""SynFlow's score cache under concurrent writers: every save is atomic, under a unique temporary name."""

from __future__ import annotations

import multiprocessing as mp
import types

from hwnas.evaluators.zero_cost import SynFlowProxy

SPACE = types.SimpleNamespace(name="nasbench201", num_classes=10)  # the cache needs only the space's name


def _saver(args) -> str:
    """Save (and reload) the cache 150 times; the first error, else ''."""
    folder, worker = args
    proxy = SynFlowProxy(SPACE, seed=0, cache_dir=folder)
    try:
        for i in range(150):
            proxy._scores = {f"arch{k}": float(worker * 1000 + i) for k in range(200)}
            proxy.save()
            loaded = proxy._load()
            assert len(loaded) == 200 and len(set(loaded.values())) == 1, "a torn or mixed cache file"
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return f"{type(exc).__name__}: {exc}"
    return ""


def test_concurrent_saves_never_collide(tmp_path):
    with mp.get_context("spawn").Pool(4) as pool:
        errors = pool.map(_saver, [(str(tmp_path), w) for w in range(4)])
    assert errors == [""] * 4
    assert len(SynFlowProxy(SPACE, seed=0, cache_dir=str(tmp_path))._scores) == 200
    assert [p.name for p in tmp_path.iterdir()] == [SynFlowProxy(SPACE, cache_dir=str(tmp_path)).cache_file.name]
