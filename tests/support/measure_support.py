"""Shared by the measurement tests: quick timing settings and a private device store per test."""

from __future__ import annotations

import pytest

from hwnas.data import device_store

FAST = dict(backend="cpu", warmup=1, min_repeats=3, max_repeats=20, check_every=2, time_cap_s=0.2)
CONV3 = (3, 3, 3, 3, 3, 3)


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """Measurements of the test go to its own temporary device store (import it into a test module)."""
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))
