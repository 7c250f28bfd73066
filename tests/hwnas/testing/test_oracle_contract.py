"""Every oracle in conf/oracle/ passes the hwnas.testing oracle contract (timm-style: test all registered),
and the contract itself can fail (seconds for milliseconds, an unsupported space)."""

from __future__ import annotations

import functools

import pytest

from hwnas.config import conf_dir, group_choices, group_file
from hwnas.core.errors import HwnasError
from hwnas.testing import ORACLE_CHECKS, UnsupportedToySpace, check_units, oracle_factory, supported_target

# Never start minutes of one-off training inside the test suite. The contract is about the interface, so
# an oracle whose set-up is a long training runs it tiny, into the private cache of conftest.py.
NO_TRAINING = {"train_if_missing": False}
_TINY_HELP = dict(train_if_missing=True, episodes=200, inner_tasks=2, query=20, valid_every=50, mc_samples=2,
                  valid_query_rows=100)  # ~10 s a member; adapts to Spearman ~0.84
_TINY_NASFLAT = dict(train_if_missing=True, source_rows=128, epochs=3, hidden=32, flow_dim=32)  # a few s
TINY_TRAINING = {"help": _TINY_HELP, "help_ensemble": {**_TINY_HELP, "ensemble": 2}, "nasflat": _TINY_NASFLAT}
ORACLES = group_choices("oracle")
# `measured` times real networks on a local device (minutes, noisy: tests/predictors/test_measured.py covers
# it) and refuses a shipped device (use `lut`), so it has no contract device: it is left out of the contract.
MEASURING = {"measured"}


def _overrides(name: str) -> dict:
    return TINY_TRAINING.get(name, NO_TRAINING)


def _cases():
    for name in (n for n in ORACLES if n not in MEASURING):
        marks = [pytest.mark.slow] if name in TINY_TRAINING else []
        yield from (pytest.param(name, check, id=f"{name}-{check}", marks=marks) for check in ORACLE_CHECKS)


@functools.lru_cache(maxsize=None)
def _target(name: str):
    return supported_target(oracle_factory(group_file("oracle", name), overrides=_overrides(name)))


def test_every_oracle_file_is_found():
    assert {"lut", "brpnas", "help", "measured"} <= set(ORACLES)
    assert {p.stem for p in (conf_dir() / "oracle").glob("*.yaml")} <= set(ORACLES)
    assert "batched" in ORACLE_CHECKS


@pytest.mark.parametrize("name, check", list(_cases()))
def test_oracle_contract(name, check):
    space, device = _target(name)
    ORACLE_CHECKS[check](oracle_factory(group_file("oracle", name), samples=10, seed=0, overrides=_overrides(name)),
                         space, device)


def test_measured_refuses_every_shipped_contract_device():
    with pytest.raises(AssertionError, match="shipped table device.*use oracle=lut"):
        _target("measured")


def test_the_units_check_catches_seconds(nb201):
    """The contract itself can fail: an oracle answering in seconds is caught."""
    lut = oracle_factory(conf_dir() / "oracle" / "lut.yaml")

    def in_seconds(space, device):
        oracle = lut(space, device)
        predict = oracle.predict_ms
        oracle.predict_ms = lambda archs: predict(archs) / 1000.0
        return oracle

    with pytest.raises(AssertionError, match="not milliseconds"):
        check_units(in_seconds, nb201, "raspi4")


def test_the_toy_space_is_refused_with_a_clear_error():
    with pytest.raises(HwnasError, match="unknown"):
        oracle_factory(conf_dir() / "oracle" / "lut.yaml")(UnsupportedToySpace(), "raspi4")
