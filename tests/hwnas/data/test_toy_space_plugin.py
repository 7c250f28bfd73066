"""A search space is a plug-in that owns its data: one Python file and one YAML in a folder of the user's
own, and the real command line searches and predicts on it with its own latency table (no core file edited)."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from cli_runner import hwnas

TINY_SPACE = '''
"""A toy space: 5 layers of width 8/16/32 (243 architectures), all measured on two made-up devices."""

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.records import DeviceTable, LatencyTable
from hwnas.core.space import Dimension, SearchSpace, as_matrix

WIDTHS = (8, 16, 32)
LAYERS = 5
POWERS = 3 ** np.arange(LAYERS - 1, -1, -1)
TABLE = LatencyTable("tiny_bench", "Tiny, two made-up devices on all 243 architectures")


def all_archs():
    return np.array(np.unravel_index(np.arange(3 ** LAYERS), (3,) * LAYERS)).T.astype(np.int64)


def measured_ms():
    """The space's own measurements: device -> latency over the table rows (NaN = not measured)."""
    rng = np.random.default_rng(7)
    width = np.asarray(WIDTHS, dtype=float)[all_archs()]
    phone = 0.4 + (width ** 2).sum(axis=1) / 800 + rng.uniform(0, 0.05, len(width))
    cpu = 0.1 + width.sum(axis=1) / 100 + rng.uniform(0, 0.01, len(width))
    cpu[::5] = np.nan                         # every fifth architecture was never measured on the CPU
    return {"tiny_phone": phone, "tiny_cpu": cpu}


class BareSpace(SearchSpace):
    """The same choices with no data at all (searchable with an oracle that needs no table)."""

    name = "bare"

    def dimensions(self):
        return [Dimension(f"layer_{i}", WIDTHS) for i in range(LAYERS)]

    def to_string(self, arch):
        return "-".join(str(WIDTHS[int(c)]) for c in arch)

    def from_string(self, text):
        try:
            return self.validate(tuple(WIDTHS.index(int(t)) for t in text.split("-")))
        except ValueError:
            raise HwnasError(f"malformed {self.name} architecture {text!r}; e.g. 8-16-32-8-8") from None

    def build(self, arch):
        import torch

        layers, width = [], 8
        for c in self.validate(arch):
            layers += [torch.nn.Linear(width, WIDTHS[int(c)]), torch.nn.ReLU()]
            width = WIDTHS[int(c)]
        return torch.nn.Sequential(*layers)

    def input_shape(self, arch, batch_size=1):
        return (batch_size, 8)


class TinySpace(BareSpace):
    name = "tiny"
    contract_device = "tiny_phone"

    def table_archs(self):
        return all_archs()

    def table_index(self, archs):
        return as_matrix(archs) @ POWERS

    @property
    def exhaustively_tabled(self):
        return True

    @property
    def size(self):
        return 3 ** LAYERS

    def latency_tables(self):
        return {name: DeviceTable(name, vector, kind, None, "made up for the plug-in test", TABLE)
                for (name, vector), kind in zip(measured_ms().items(), ("phone", "CPU"))}


class TinyAccuracy(Evaluator):
    metric = "tiny accuracy (%)"

    def accuracy(self, archs):
        width = np.asarray(WIDTHS, dtype=float)[as_matrix(archs)]
        return 50.0 + np.log2(width).sum(axis=1) + 0.1 * width[:, 0] / 8
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The user's folder: tiny_space.py, conf/space/{tiny,bare}.yaml and conf/evaluator/tiny.yaml."""
    root = tmp_path_factory.mktemp("user")
    (root / "tiny_space.py").write_text(textwrap.dedent(TINY_SPACE))
    for group, name, target in (("space", "tiny", "TinySpace"), ("space", "bare", "BareSpace"),
                                ("evaluator", "tiny", "TinyAccuracy")):
        (root / "conf" / group).mkdir(parents=True, exist_ok=True)
        (root / "conf" / group / f"{name}.yaml").write_text(f"_target_: tiny_space.{target}\n")
    spec = importlib.util.spec_from_file_location("tiny_space_under_test", root / "tiny_space.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    env = {"PYTHONPATH": str(root), "HWNAS_CONFIG_PATH": str(root / "conf"), "OMP_NUM_THREADS": "1"}
    return root, module, env


def test_search_on_the_toy_space_uses_its_own_table(plugin, tmp_path):
    root, tiny, env = plugin
    phone = tiny.measured_ms()["tiny_phone"]
    budget_ms = float(np.percentile(phone, 40))
    result = hwnas("search", "space=tiny", "oracle=lut", "evaluator=tiny", "strategy=evolution", "device=tiny_phone",
                   f"budget_ms={budget_ms}", "max_evals=60", "seed=0", "progress=false",
                   f"hydra.run.dir={tmp_path}", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["space"] == "tiny" and summary["evaluator"] == "tiny accuracy (%)"
    best = summary["best"]
    space = tiny.TinySpace()
    row = int(space.table_index([space.from_string(best["arch"])])[0])
    assert best["table_index"] == row and best["latency_source"] == "device table"
    assert best["latency_ms"] == pytest.approx(phone[row]) and best["latency_ms"] <= budget_ms and best["feasible"]
    # ground truth over the toy table: the true constrained optimum, and the regret against it
    accuracy = tiny.TinyAccuracy(space).accuracy(space.table_archs())
    optimum = float(accuracy[phone <= budget_ms].max())
    truth = summary["ground_truth"]
    assert truth["optimum_accuracy"] == pytest.approx(optimum)
    assert truth["n_tabled"] == 243 and truth["n_feasible"] == int((phone <= budget_ms).sum())
    assert truth["regret"] == pytest.approx(optimum - best["accuracy"]) and truth["regret"] >= 0


@pytest.mark.parametrize("device", ["tiny_phone", "tiny_cpu"])
def test_predict_on_the_toy_space_gives_its_table(plugin, tmp_path, device):
    root, tiny, env = plugin
    table = tiny.measured_ms()[device]
    out = tmp_path / "pred.csv"
    result = hwnas("predict", "space=tiny", "oracle=lut", f"device={device}", f"out={out}",
                   f"hydra.run.dir={tmp_path}", env=env)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    covered = np.flatnonzero(np.isfinite(table))        # a partly measured device: its covered rows
    np.testing.assert_array_equal(frame["index"], covered)
    np.testing.assert_allclose(frame["predicted_ms"], table[covered])
    space = tiny.TinySpace()
    assert list(frame["arch"][:3]) == [space.to_string(a) for a in space.table_archs()[covered[:3]]]


def test_bad_input_on_the_toy_space_is_one_line(plugin, tmp_path):
    _, _, env = plugin
    result = hwnas("predict", "space=tiny", "oracle=lut", "device=tiny_phon", f"hydra.run.dir={tmp_path}", env=env)
    assert result.returncode != 0
    assert "unknown device for space tiny 'tiny_phon'. Did you mean: tiny_phone" in result.stderr
    assert "Traceback" not in result.stderr
    result = hwnas("predict", "space=tinny", "oracle=lut", "device=tiny_phone", env=env)
    assert result.returncode != 0 and "Did you mean: tiny" in result.stderr and "Traceback" not in result.stderr


def test_a_space_with_no_data_searches_with_an_oracle_that_needs_no_table(plugin, tmp_path):
    _, _, env = plugin
    result = hwnas("search", "space=bare", "evaluator=tiny", "oracle=measured", "device=local-cpu", "strategy=random",
                   "budget_ms=1000", "max_evals=6", "seed=0", "progress=false", "oracle.backend=cpu",
                   "oracle.warmup=1", "oracle.min_repeats=3", "oracle.max_repeats=5", "oracle.check_every=1",
                   "oracle.time_cap_s=0.05", f"hydra.run.dir={tmp_path}", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["space"] == "bare" and summary["best"]["feasible"]
    assert summary["best"]["latency_source"] == "oracle" and summary["best"]["table_index"] == -1
    assert "ground_truth" not in summary


def test_the_toy_space_passes_the_space_contract(plugin):
    """The contract suite every shipped space passes, on the user's space found through the registry."""
    import subprocess
    import sys

    _, _, env = plugin
    code = ("from hwnas.config import group_choices, group_file\n"
            "from hwnas.testing import SPACE_CHECKS, check_space, load_space\n"
            "assert 'tiny' in group_choices('space')\n"
            "check_space(load_space(group_file('space', 'tiny')))\n"
            "print(len(SPACE_CHECKS), 'checks passed')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, **env})
    assert result.returncode == 0, result.stderr
    assert "checks passed" in result.stdout
