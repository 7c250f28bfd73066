"""A plug-in is one Python file plus one YAML file, with no edit to hwnas: a toy strategy and a toy oracle
written to a temporary folder run through the real command line and pass their contracts."""

from __future__ import annotations

import json
import textwrap

import pytest

from cli_runner import hwnas
from hwnas.config import ENV_CONFIG_PATH, group_choices, group_file
from hwnas.testing import adapted, check_oracle, check_strategy, oracle_factory, strategy_factory, supported_target

STRATEGY = '''
"""A toy strategy: random samples until something feasible is found, then mostly mutations of the best."""

import numpy as np

from hwnas.core.constraint import constrained_key
from hwnas.core.strategy import Strategy


class HillClimb(Strategy):
    def __init__(self, space, budget_ms, seed=0, explore=0.2):
        super().__init__(space, budget_ms, seed)
        self.explore = float(explore)
        self.rng = np.random.default_rng(seed)
        self.best = None

    def ask(self, n=1):
        out = []
        for _ in range(n):
            if self.best is None or not self.best.feasible or self.rng.random() < self.explore:
                out.append(self.space.sample(self.rng, 1)[0])
            else:
                out.append(self.space.mutate(self.best.arch, self.rng))
        return out

    def tell(self, trials):
        for trial in trials:
            if trial.evaluated and (self.best is None or constrained_key(trial) > constrained_key(self.best)):
                self.best = trial
'''

ORACLE = '''
"""A toy oracle: latency additive over the space's one-hot encoding, ridge-fitted on reference archs."""

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle
from hwnas.data import devices


class LinearOneHot(LatencyOracle):
    name = "toy_linear"

    def __init__(self, space, device, samples=30, seed=0, ridge=0.1):
        super().__init__(space, device)
        devices.require_device(space.name, device)
        self.samples, self.seed, self.ridge = int(samples), int(seed), float(ridge)
        self.weights = None

    def reference_archs(self):
        rows = devices.coverage(self.space.name, self.device)
        picked = np.random.default_rng(self.seed).choice(rows, size=min(self.samples, len(rows)), replace=False)
        table = np.asarray(self.space.table_archs())
        return [tuple(int(v) for v in table[r]) for r in np.sort(picked)]

    def adapt(self, archs, latency_ms):
        x, y = self._features(archs), np.asarray(latency_ms, dtype=float)
        self.weights = np.linalg.solve(x.T @ x + self.ridge * np.eye(x.shape[1]), x.T @ y)

    def predict_ms(self, archs):
        if self.weights is None:
            raise HwnasError("toy_linear predicts only after adapt() on the reference archs")
        return self._features(archs) @ self.weights

    def _features(self, archs):
        matrix = self.space.checked_matrix(archs)
        return np.hstack([self.space.encode(matrix), np.ones((len(matrix), 1), dtype=np.float32)])
'''


def _plugin(root, group: str, name: str, module: str, source: str, yaml: str):
    """ONE Python file at the folder's top, ONE YAML file in its conf/<group>/."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    (root / "conf" / group).mkdir(parents=True)
    (root / "conf" / group / f"{name}.yaml").write_text(textwrap.dedent(yaml))
    return {"PYTHONPATH": str(root), ENV_CONFIG_PATH: str(root / "conf")}


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """The plug-in folder on this process's path too, for the contract checks."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(ENV_CONFIG_PATH, str(tmp_path / "conf"))
    return tmp_path


def _summary(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_a_strategy_from_one_file_and_one_yaml(user_folder):
    env = _plugin(user_folder, "strategy", "toy", "hwnas_user_toy_strategy", STRATEGY,
                  "_target_: hwnas_user_toy_strategy.HillClimb\nexplore: 0.2\n")
    run_dir = user_folder / "run"
    result = hwnas("search", "strategy=toy", "space=nasbench201", "oracle=lut", "device=pixel3", "budget_ms=6.5",
                   "max_evals=60", "seed=0", "progress=false", f"hydra.run.dir={run_dir}", env=env)
    assert result.returncode == 0, result.stderr
    summary = _summary(run_dir)
    assert summary["strategy"] == "toy" and summary["cost"]["evaluations"] == 60
    assert summary["best"]["feasible"] and summary["best"]["latency_ms"] <= 6.5
    assert summary["ground_truth"]["regret"] >= 0
    assert "toy" in group_choices("strategy")
    check_strategy(strategy_factory(group_file("strategy", "toy")))


def test_an_oracle_from_one_file_and_one_yaml(user_folder, nb201):
    env = _plugin(user_folder, "oracle", "toy_linear", "hwnas_user_toy_oracle", ORACLE,
                  "_target_: hwnas_user_toy_oracle.LinearOneHot\nsamples: ${samples}\nseed: ${seed}\nridge: 0.1\n")
    run_dir = user_folder / "run"
    result = hwnas("search", "oracle=toy_linear", "samples=30", "space=nasbench201", "strategy=evolution",
                   "device=pixel3", "budget_ms=6.5", "max_evals=60", "seed=0", "progress=false",
                   f"hydra.run.dir={run_dir}", env=env)
    assert result.returncode == 0, result.stderr
    summary = _summary(run_dir)
    assert summary["oracle"] == "toy_linear"
    assert summary["cost"]["target_measurements"]["adapt"] == 30
    best = summary["best"]
    # the search ran on this plug-in's predictions: feasible by them, and they are what it predicts in-process;
    # not asserted: true feasibility (a learned oracle's best is often one it underestimates, even at Spearman 0.9)
    assert best["feasible_by_oracle"] and best["predicted_latency_ms"] <= 6.5
    assert best["latency_source"] == "device table" and best["latency_ms"] != best["predicted_latency_ms"]
    make = oracle_factory(group_file("oracle", "toy_linear"), samples=30)
    oracle = adapted(make, nb201, "pixel3")
    assert oracle.predict_ms([nb201.from_string(best["arch"])])[0] == pytest.approx(best["predicted_latency_ms"])
    check_oracle(make, *supported_target(make))


def test_a_per_arch_version_of_the_toy_oracle_fails_its_contract(user_folder):
    looped = ORACLE.replace("return self._features(archs) @ self.weights",
                            "return np.array([float((self._features([a]) @ self.weights)[0]) "
                            "for a in self.space.checked_matrix(archs)])")
    _plugin(user_folder, "oracle", "toy_looped", "hwnas_user_toy_looped", looped,
            "_target_: hwnas_user_toy_looped.LinearOneHot\nsamples: ${samples}\nseed: ${seed}\n")
    make = oracle_factory(group_file("oracle", "toy_looped"), samples=30)
    with pytest.raises(AssertionError, match="oracle contract 'batched': .*hwnas_user_toy_looped.py"):
        check_oracle(make, *supported_target(make))
