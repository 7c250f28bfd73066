"""The oracle contract fails a predictor that answers one architecture per call (a Python loop instead of
a batched query), whether the loop calls the space, a torch model or only its own code; batched ones
(every shipped oracle, in test_oracle_contract.py, and a batched torch model here) pass."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from hwnas.config import conf_dir
from hwnas.core.oracle import LatencyOracle
from hwnas.testing import check_batched, check_oracle, oracle_factory
from hwnas.testing.batching import batched_methods, counting_calls, own_source_files

LUT = oracle_factory(conf_dir() / "oracle" / "lut.yaml")


class PerArchLut(LatencyOracle):
    """The lookup table, asked one architecture at a time."""

    name = "per_arch_lut"

    def __init__(self, space, device):
        super().__init__(space, device)
        self.inner = LUT(space, device)

    def predict_ms(self, archs):
        matrix = self.space.checked_matrix(archs)
        return np.concatenate([self.inner.predict_ms(matrix[i:i + 1]) for i in range(len(matrix))])


class LoopedNumpyMlp(LatencyOracle):
    """A small numpy MLP on its own one-hot encoding, one arch per loop step: no space call, no torch."""

    name = "looped_numpy"

    def __init__(self, space, device):
        super().__init__(space, device)
        rng = np.random.default_rng(0)
        self.sizes = [len(d) for d in space.dimensions()]
        self.w1, self.w2 = rng.normal(size=(32, sum(self.sizes))), rng.normal(size=32)

    def predict_ms(self, archs):
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        out = []
        for row in np.asarray(archs, dtype=np.int64):
            x = np.zeros(sum(self.sizes))
            x[offsets + row] = 1.0
            out.append(1.0 + np.exp(0.1 * np.tanh(self.w1 @ x) @ self.w2))
        return np.array(out)


class TorchMlp(LatencyOracle):
    """A torch MLP on its own one-hot encoding; `looped` runs it once per arch, otherwise once per batch."""

    name = "torch_mlp"

    def __init__(self, space, device, looped: bool):
        super().__init__(space, device)
        torch.manual_seed(0)
        self.sizes = [len(d) for d in space.dimensions()]
        self.net = torch.nn.Sequential(torch.nn.Linear(sum(self.sizes), 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        self.looped = looped

    def _onehot(self, matrix):
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        x = np.zeros((len(matrix), sum(self.sizes)), dtype=np.float32)
        x[np.arange(len(matrix))[:, None], matrix + offsets] = 1.0
        return torch.from_numpy(x)

    def predict_ms(self, archs):
        matrix = np.asarray(archs, dtype=np.int64).reshape(-1, len(self.sizes))
        with torch.no_grad():
            if self.looped:
                out = torch.cat([self.net(self._onehot(matrix[i:i + 1]))[:, 0] for i in range(len(matrix))])
            else:
                out = self.net(self._onehot(matrix))[:, 0]
        return 1.0 + torch.exp(out).double().numpy()


def test_a_per_arch_lookup_fails_by_its_calls_into_the_space(nb201):
    with pytest.raises(AssertionError, match=r"space\.table_index \d+x.*one call per architecture"):
        check_batched(PerArchLut, nb201, "raspi4")


def test_check_oracle_names_the_batched_check(nb201):
    """Everything else about the per-arch table is right: the contract fails on `batched` alone."""
    with pytest.raises(AssertionError, match="oracle contract 'batched'"):
        check_oracle(PerArchLut, nb201, "raspi4")


def test_a_loop_touching_neither_the_space_nor_torch_fails_by_the_lines_it_runs(nb201):
    with pytest.raises(AssertionError, match=r"lines of test_per_arch_detection\.py \d+x \(one arch: \d+x\)"):
        check_batched(LoopedNumpyMlp, nb201, "raspi4")


def test_a_per_arch_torch_model_fails_by_its_module_calls(nb201):
    with pytest.raises(AssertionError, match=r"torch module Sequential \(id \d+\) 256x \(one arch: 1x\)"):
        check_batched(lambda space, device: TorchMlp(space, device, looped=True), nb201, "raspi4")


def test_the_same_torch_model_batched_passes(nb201):
    check_batched(lambda space, device: TorchMlp(space, device, looped=False), nb201, "raspi4")


def test_counting_leaves_the_space_as_it_was(nb201):
    names = batched_methods(nb201)
    assert {"encode", "table_index", "checked_matrix", "graph", "index"} <= set(names)
    assert "validate" not in names and "to_string" not in names  # one arch each: not counted
    with counting_calls(nb201) as counts:
        nb201.encode([(0,) * 6, (1,) * 6])
        nb201.table_index([(0,) * 6])
    assert counts["space.encode"] == 1 and counts["space.table_index"] == 1
    assert not set(names) & set(vars(nb201))


def test_only_the_oracles_own_files_are_traced(nb201):
    """A per-row loop inside the space (not the oracle's code) is not the oracle's loop."""
    assert own_source_files(PerArchLut(nb201, "raspi4")) == {str(Path(__file__).resolve())}
    assert own_source_files(LUT(nb201, "raspi4")) == {str(Path(inspect.getsourcefile(type(LUT(nb201, "raspi4")))).resolve())}
