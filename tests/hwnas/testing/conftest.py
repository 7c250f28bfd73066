"""Contract-suite tests: a private cache for anything an oracle or evaluator trains or scores, one torch thread."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    """Tiny trainings and SynFlow scores go to a cache of their own, never the user's (where real weights
    live), on one torch thread (small tensors: more threads only spin-wait on a busy 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    patch = pytest.MonkeyPatch()
    patch.setenv("HWNAS_CACHE_DIR", str(tmp_path_factory.mktemp("hwnas_cache")))
    yield
    patch.undo()
    torch.set_num_threads(threads)
