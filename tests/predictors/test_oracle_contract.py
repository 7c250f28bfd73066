"""Every oracle in conf/oracle/ passes the hwnas.testing contract (timm-style: test all registered)."""

from __future__ import annotations

import functools

import pytest

from hwnas.config import conf_dir
from hwnas.core.errors import HwnasError
from hwnas.testing import ORACLE_CHECKS, UnsupportedToySpace, check_units, oracle_factory, supported_target

# Never start minutes of one-off training inside the test suite. The contract is about the interface, so
# an oracle whose set-up is a long training runs it tiny, into a temporary cache (see `_private_cache`).
NO_TRAINING = {"train_if_missing": False}
_TINY_HELP = dict(train_if_missing=True, episodes=200, inner_tasks=2, query=20, valid_every=50, mc_samples=2,
                  valid_query_rows=100)  # ~10 s a member; adapts to Spearman ~0.84
TINY_TRAINING = {"help": _TINY_HELP, "help_ensemble": {**_TINY_HELP, "ensemble": 2}}
ORACLE_FILES = sorted((conf_dir() / "oracle").glob("*.yaml"))
# Oracles with no tabled device to check against: they time real networks on this machine (minutes per
# contract run, noisy by nature), so only the checks that need no table and no timing apply.
TABLE_FREE = {"measured": ("nasbench201", "local-cpu", ("unsupported_space", "unknown_device"))}


def _cases():
    for path in ORACLE_FILES:
        applicable = TABLE_FREE[path.stem][2] if path.stem in TABLE_FREE else tuple(ORACLE_CHECKS)
        yield from (pytest.param(path, check, id=f"{path.stem}-{check}") for check in applicable)


def _overrides(stem: str) -> dict:
    return TINY_TRAINING.get(stem, NO_TRAINING)


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    """Tiny trainings go to a cache of their own, never the user's (where real weights live), on one
    torch thread (small tensors: more threads only spin-wait, 20x slower on a busy 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    patch = pytest.MonkeyPatch()
    patch.setenv("HWNAS_CACHE_DIR", str(tmp_path_factory.mktemp("hwnas_cache")))
    yield
    patch.undo()
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def _target(stem: str):
    return supported_target(oracle_factory(conf_dir() / "oracle" / f"{stem}.yaml", overrides=_overrides(stem)))


def test_every_oracle_file_is_found():
    assert {"lut", "brpnas"} <= {p.stem for p in ORACLE_FILES}


@pytest.mark.parametrize("yaml_path, check", list(_cases()))
def test_oracle_contract(yaml_path, check, nb201):
    if yaml_path.stem in TABLE_FREE:
        space, device = nb201, TABLE_FREE[yaml_path.stem][1]
    else:
        space, device = _target(yaml_path.stem)
    ORACLE_CHECKS[check](oracle_factory(yaml_path, samples=10, seed=0, overrides=_overrides(yaml_path.stem)),
                         space, device)


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
