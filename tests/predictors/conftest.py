"""Fixtures shared by the HELP tests: one torch thread and a private weights cache."""

from __future__ import annotations

import pytest
import torch

from hwnas.predictors import help_cache


@pytest.fixture(scope="module")
def one_thread():
    """Small tensors: one torch thread avoids OpenMP spin-waits on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """HELP weights go to a temporary cache, never the user's."""
    monkeypatch.setenv(help_cache.CACHE_ENV, str(tmp_path))
    return tmp_path
