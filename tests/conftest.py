"""Shared fixtures: the real NB201 space and tables (small, cached), a seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.search_spaces.nasbench201 import NasBench201


@pytest.fixture(scope="session")
def nb201() -> NasBench201:
    return NasBench201()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _empty_device_store(tmp_path_factory, monkeypatch):
    """A developer's own measured devices (`hwnas measure`) must not change what the tests see."""
    monkeypatch.setenv("HWNAS_DEVICE_STORE", str(tmp_path_factory.mktemp("device_store")))
