"""SynFlow scores that ship with the package, progress saving, and merging with other writers' saves."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.evaluators import zero_cost
from hwnas.evaluators.zero_cost import SynFlowProxy
from hwnas.search_spaces.fbnet import FBNet


@pytest.fixture(scope="module")
def fbnet() -> FBNet:
    return FBNet()


@pytest.fixture
def counted(monkeypatch):
    """Count SynFlowProxy.score calls (each builds and differentiates one network)."""
    calls = []
    real = SynFlowProxy.score

    def score(self, arch):
        calls.append(arch)
        return real(self, arch)

    monkeypatch.setattr(SynFlowProxy, "score", score)
    return calls


def test_fbnet_tabled_scores_ship_and_match_this_torch(tmp_path, counted, fbnet):
    proxy = SynFlowProxy(fbnet, cache_dir=str(tmp_path))
    assert proxy._shipped_file.is_file()
    archs = fbnet.table_archs()[[3, 1500, 4999]]
    shipped = proxy.accuracy(archs)
    assert len(counted) == 1  # only the probe that checks the shipped file against this torch
    fresh = [SynFlowProxy(fbnet, cache_dir=str(tmp_path / "x")).score(a) for a in archs]
    # equal to the shipped file's rounding and this CPU's float order: the tolerance the probe accepts
    assert np.allclose(shipped, fresh, rtol=1e-9, atol=1e-12)


def test_shipped_scores_that_do_not_match_are_not_used(tmp_path, monkeypatch, capsys, counted, fbnet):
    proxy = SynFlowProxy(fbnet, cache_dir=str(tmp_path))
    wrong = {k: v + 1.0 for k, v in json.loads(gzip.decompress(proxy._shipped_file.read_bytes())).items()}
    fake = tmp_path / "shipped"
    fake.mkdir()
    (fake / proxy._shipped_file.name).write_bytes(gzip.compress(json.dumps(wrong).encode()))
    monkeypatch.setattr(zero_cost, "SHIPPED_DIR", fake)
    proxy = SynFlowProxy(fbnet, cache_dir=str(tmp_path))
    scores = proxy.accuracy(fbnet.table_archs()[:2])
    assert "do not match this torch" in capsys.readouterr().err
    assert len(counted) == 3  # the probe, then both networks computed here
    assert all(abs(s - wrong[fbnet.to_string(tuple(int(v) for v in a))]) > 0.5
               for s, a in zip(scores, fbnet.table_archs()[:2]))


def test_an_interrupted_scoring_keeps_what_it_finished(tmp_path, monkeypatch, nb201):
    real, done = SynFlowProxy.score, []

    def score(self, arch):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(arch)
        return real(self, arch)

    monkeypatch.setattr(SynFlowProxy, "score", score)
    with pytest.raises(KeyboardInterrupt):
        SynFlowProxy(nb201, cache_dir=str(tmp_path)).accuracy(nb201.table_archs()[:10])
    assert len(SynFlowProxy(nb201, cache_dir=str(tmp_path))._scores) == 3


def test_save_merges_what_another_process_saved(tmp_path, nb201):
    first, second = SynFlowProxy(nb201, cache_dir=str(tmp_path)), SynFlowProxy(nb201, cache_dir=str(tmp_path))
    first.accuracy(nb201.table_archs()[:2])
    second.accuracy(nb201.table_archs()[2:4])
    assert len(SynFlowProxy(nb201, cache_dir=str(tmp_path))._scores) == 4


def test_a_corrupt_shipped_file_is_one_line(tmp_path, monkeypatch, fbnet):
    proxy = SynFlowProxy(fbnet, cache_dir=str(tmp_path))
    fake = tmp_path / "shipped"
    fake.mkdir()
    (fake / proxy._shipped_file.name).write_bytes(b"not gzip")
    monkeypatch.setattr(zero_cost, "SHIPPED_DIR", fake)
    with pytest.raises(HwnasError, match="corrupt shipped SynFlow scores .*reinstall hwnas"):
        SynFlowProxy(fbnet, cache_dir=str(tmp_path)).accuracy(fbnet.table_archs()[:1])
