"""Every space in conf/space/ (and the toy space) passes the space contract; broken spaces fail it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from hwnas.config import conf_dir, group_choices, group_file
from hwnas.core.errors import HwnasError
from hwnas.testing import SPACE_CHECKS, ToySpace, check_space, load_space

SPACES = group_choices("space")


@functools.lru_cache(maxsize=None)
def _space(name: str):
    return load_space(group_file("space", name))


def test_every_space_file_is_found():
    assert {"nasbench201", "fbnet", "ofa_mbv3"} <= set(SPACES)
    assert {p.stem for p in (conf_dir() / "space").glob("*.yaml")} <= set(SPACES)


@pytest.mark.parametrize("check", SPACE_CHECKS)
@pytest.mark.parametrize("name", SPACES)
def test_space_contract(name, check):
    SPACE_CHECKS[check](_space(name))


def test_the_toy_space_passes():
    check_space(ToySpace())


# ---------------------------------------------------------------------------- the contract can fail
class UnseededSpace(ToySpace):
    def sample(self, rng, n=1):
        return super().sample(np.random.default_rng(), n)


class LooseStrings(ToySpace):
    def from_string(self, text):
        return tuple(int(t) for t in text.split("-"))  # ValueError, not HwnasError


class RowwiseEncoding(ToySpace):
    def encode(self, archs, kind="onehot"):
        out = super().encode(archs, kind)
        return out[:1] if len(out) else out  # only the first arch


class OffByOneTable(ToySpace):
    def table_index(self, archs):
        return super().table_index(archs) + 1


class NotCanonical(ToySpace):
    """Says the last choice is unused (canonical zeroes it) but samples it anyway."""

    def canonical(self, arch):
        return tuple(int(v) for v in arch[:-1]) + (0,)

    def sample(self, rng, n=1):
        return [tuple(int(v) for v in row) for row in rng.integers(0, 4, (n, len(self.dimensions())))]


class BrokenNetwork(ToySpace):
    def build(self, arch):
        import torch

        self.validate(arch)
        return torch.nn.Linear(3, 2)  # input_shape says (batch, dims): the forward fails


class OneWayEquivalents(ToySpace):
    """Says every arch is equivalent to the all-zero one, but not the other way round."""

    def equivalents(self, arch):
        return [] if not any(arch) else [(0,) * len(arch)]


@pytest.mark.parametrize("space, check, message", [
    (UnseededSpace(), "seeded", "differ between two runs with one seed"),
    (LooseStrings(), "malformed", "raised ValueError"),
    (RowwiseEncoding(), "encode_batched", r"encode of 16 archs has shape \(1, 20\)"),
    (OffByOneTable(), "table", "is not 0..n-1"),
    (NotCanonical(), "sample_mutate_crossover", "is not canonical"),
    (OneWayEquivalents(), "equivalents", "but not the other way"),
    (BrokenNetwork(), "build", r"forward of build\(.*\) on input_shape \(2, 5\) raised RuntimeError"),
])
def test_a_broken_space_fails(space, check, message):
    with pytest.raises(AssertionError, match=message):
        SPACE_CHECKS[check](space)
    with pytest.raises(AssertionError, match=f"(?s)space contract '{check}': .*{message}"):
        check_space(space)


def test_a_failure_names_the_check():
    with pytest.raises(AssertionError, match="space contract 'table'"):
        check_space(OffByOneTable())


def test_a_malformed_string_message_is_one_line():
    with pytest.raises(HwnasError) as caught:
        ToySpace().from_string("1-x-2")
    assert "\n" not in str(caught.value)


def test_a_space_without_data_passes_the_table_check():
    from hwnas.testing import UnsupportedToySpace

    SPACE_CHECKS["table"](UnsupportedToySpace())
