"""The NNI adapter against the real NNI 3.0 hub space: labels, conversion, latency profiler and filter.

Runs when the `nni` extra is installed; skipped only because it is not.
"""

from __future__ import annotations

import numpy as np
import pytest

nni = pytest.importorskip("nni", reason="optional extra not installed: nni 3.0 (pip install 'hwnas[nni]')")

from nni.nas.hub.pytorch import NasBench201 as NniNasBench201  # noqa: E402

from hwnas.data import devices  # noqa: E402
from hwnas.nni import NNI_OPS  # noqa: E402
from hwnas.nni import from_nni_sample  # noqa: E402
from hwnas.nni import to_nni_sample  # noqa: E402
from hwnas.nni.profiler import HwnasLatencyProfiler, latency_filter  # noqa: E402


@pytest.fixture(scope="module")
def model_space():
    return NniNasBench201()


@pytest.fixture(scope="module")
def nni_samples(model_space):
    choices = model_space.simplify()
    rng = np.random.RandomState(0)
    return [{label: choice.random(random_state=rng) for label, choice in choices.items()} for _ in range(40)]


def test_labels_and_operations_match_nnis_hub(model_space, nb201):
    choices = model_space.simplify()
    assert set(choices) == set(to_nni_sample((0,) * 6))
    for choice in choices.values():
        assert list(choice.values) == list(NNI_OPS.values())


def test_nni_samples_round_trip(nni_samples):
    for sample in nni_samples:
        assert to_nni_sample(from_nni_sample(sample)) == sample


def test_profiler_gives_the_oracles_latency_and_filters_by_budget(model_space, nni_samples, nb201):
    profiler = HwnasLatencyProfiler.from_config(model_space, oracle="lut", device="raspi4")
    table = devices.latency_ms("nasbench201", "raspi4")
    expected = table[nb201.index([from_nni_sample(s) for s in nni_samples])]
    got = np.array([profiler.profile(s) for s in nni_samples])
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(profiler.profile_many(nni_samples), expected)
    budget_ms = float(np.median(expected))
    keep = latency_filter(profiler, budget_ms)
    assert [keep(s) for s in nni_samples] == list(expected <= budget_ms)


def test_an_adapting_oracle_works_as_the_constraint(model_space, nni_samples):
    profiler = HwnasLatencyProfiler.from_config(model_space, oracle="brpnas", device="raspi4", samples=10)
    latency = profiler.profile_many(nni_samples)
    assert latency.shape == (len(nni_samples),) and (latency > 0).all()
