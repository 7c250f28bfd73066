"""Every evaluator in conf/evaluator/ passes the evaluator contract on the first space it serves (its own
name first: `evaluator: ${space}` in conf/search.yaml); broken evaluators fail it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from hwnas.config import conf_dir, group_choices, group_file
from hwnas.core.space import as_matrix
from hwnas.testing import EVALUATOR_CHECKS, ToyEvaluator, ToySpace, check_evaluator, evaluator_factory, supported_space

EVALUATORS = group_choices("evaluator")
SLOW = {"fbnet"}  # SynFlow on FBNet networks: a network built and back-propagated per arch, twice per check


def _cases():
    for name in EVALUATORS:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield from (pytest.param(name, check, id=f"{name}-{check}", marks=marks) for check in EVALUATOR_CHECKS)


@functools.lru_cache(maxsize=None)
def _target(name: str):
    make = evaluator_factory(group_file("evaluator", name))
    return make, supported_space(make, prefer=name)


def test_every_evaluator_file_is_found():
    assert {"nasbench201", "fbnet", "ofa_mbv3", "synflow"} <= set(EVALUATORS)
    assert {p.stem for p in (conf_dir() / "evaluator").glob("*.yaml")} <= set(EVALUATORS)


def test_each_space_default_evaluator_runs_on_that_space():
    for name in group_choices("space"):
        assert _target(name)[1].name == name


@pytest.mark.parametrize("name, check", list(_cases()))
def test_evaluator_contract(name, check):
    make, space = _target(name)
    EVALUATOR_CHECKS[check](make, space)


# ---------------------------------------------------------------------------- the contract can fail
class UnseededInit(ToyEvaluator):
    """A per-instance random offset (as an unseeded network initialisation would give)."""

    def __init__(self, space):
        super().__init__(space)
        self.offset = np.random.default_rng().normal()

    def accuracy(self, archs):
        return super().accuracy(archs) + self.offset


class BatchRelative(ToyEvaluator):
    def accuracy(self, archs):
        scores = super().accuracy(archs)
        return scores - scores.mean()


class Unlabelled(ToyEvaluator):
    metric = ""


class IntProxyFlag(ToyEvaluator):
    is_proxy = 0


class LooseArchs(ToyEvaluator):
    def accuracy(self, archs):
        matrix = as_matrix(archs)
        return 50.0 + self.space.accuracy_table[np.arange(matrix.shape[1]), matrix].sum(axis=1)


class Rounded(ToyEvaluator):
    def accuracy(self, archs):
        return np.round(super().accuracy(archs)).astype(int)


def test_the_toy_evaluator_passes():
    check_evaluator(ToyEvaluator, ToySpace())


@pytest.mark.parametrize("cls, check, message", [
    (Rounded, "shapes", "dtype int64 is not floating"),
    (BatchRelative, "batch_consistency", "one-by-one differs from the batch"),
    (UnseededInit, "determinism", "two evaluators built alike score differently"),
    (Unlabelled, "labels", "metric is '', expected a non-empty string"),
    (IntProxyFlag, "labels", "is_proxy is 0, expected a bool"),
    (LooseArchs, "malformed_arch", "too few choices was accepted without an HwnasError"),
])
def test_a_broken_evaluator_fails(cls, check, message):
    with pytest.raises(AssertionError, match=f"(?s)evaluator contract '{check}': .*{message}"):
        check_evaluator(cls, ToySpace())
