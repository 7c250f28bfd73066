"""Shared fixtures: the real NB201 space and tables (small, cached), a seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces.nasbench201 import NasBench201


@pytest.fixture(scope="session")
def nb201() -> NasBench201:
    return NasBench201()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
