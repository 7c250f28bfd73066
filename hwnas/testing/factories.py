"""Plug-ins built from their YAML files (`conf/<group>/<name>.yaml`), as the command line builds them,
and the targets the suites run them on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import SearchSpace
from hwnas.core.strategy import Strategy

OracleFactory = Callable[[SearchSpace, str], LatencyOracle]
#: (space, budget_ms, seed, run_dir) -> Strategy; run_dir: the run folder for durable state, or None (in memory)
StrategyFactory = Callable[[SearchSpace, float, int, Optional[Path]], Strategy]
EvaluatorFactory = Callable[[SearchSpace], Evaluator]


def _load(yaml_path: str | Path, overrides: dict | None, merge: bool):
    from omegaconf import OmegaConf

    node = OmegaConf.load(yaml_path)
    if merge:
        return OmegaConf.merge(node, overrides or {})
    for key, value in (overrides or {}).items():
        if key in node:
            node[key] = value
    return node


def _instantiate(root: dict, node, what: str, **kwargs: Any):
    from omegaconf import OmegaConf

    from hwnas.config import instantiate

    config = OmegaConf.create({**root, "node": node})
    return instantiate(config.node, what, **kwargs)


def load_space(yaml_path: str | Path) -> SearchSpace:
    """The search space of one `conf/space/<name>.yaml`."""
    return _instantiate({}, _load(yaml_path, None, merge=True), "search space")


def oracle_factory(yaml_path: str | Path, samples: int = 10, seed: int = 0,
                   overrides: dict | None = None) -> OracleFactory:
    """A factory for the oracle of one `conf/oracle/<name>.yaml` (interpolations `${samples}`, `${seed}`);
    `overrides` replace YAML keys that the file has (others are ignored)."""
    node = _load(yaml_path, overrides, merge=False)

    def make(space: SearchSpace, device: str) -> LatencyOracle:
        root = {"samples": samples, "seed": seed, "device": device, "budget_ms": 1.0}
        return _instantiate(root, node, "oracle", space=space, device=device)

    return make


def strategy_factory(yaml_path: str | Path, overrides: dict | None = None) -> StrategyFactory:
    """A factory for the strategy of one `conf/strategy/<name>.yaml`, `overrides` merged in (nested keys
    too). As a search does, a strategy that takes a `workdir` gets the run folder (when there is one)."""
    from hwnas.engine.runs import constructor_parameters

    node = _load(yaml_path, overrides, merge=True)
    takes_workdir = "workdir" in constructor_parameters(node)

    def make(space: SearchSpace, budget_ms: float, seed: int, run_dir: Path | None = None) -> Strategy:
        extra = {"workdir": str(run_dir)} if takes_workdir and run_dir is not None else {}
        root = {"seed": int(seed), "budget_ms": float(budget_ms)}
        return _instantiate(root, node, "strategy", space=space, budget_ms=float(budget_ms), seed=int(seed), **extra)

    return make


def evaluator_factory(yaml_path: str | Path, overrides: dict | None = None) -> EvaluatorFactory:
    """A factory for the evaluator of one `conf/evaluator/<name>.yaml`, `overrides` merged in."""
    node = _load(yaml_path, overrides, merge=True)
    return lambda space: _instantiate({}, node, "evaluator", space=space)


def _registry_spaces(first: str | None = None):
    """(name, space) of every `conf/space/` choice: `first` (if there), then NB201, then the rest."""
    from hwnas.config import group_choices, group_file

    names = sorted(group_choices("space"), key=lambda n: (n != first, n != "nasbench201", n))
    for name in names:
        yield name, load_space(group_file("space", name))


def supported_target(make: OracleFactory) -> tuple[SearchSpace, str]:
    """The first space of the config registry (NB201 first) the oracle accepts, on its `contract_device`.

    An oracle serves some spaces and refuses the others with HwnasError; one that refuses all fails.
    """
    refusals = []
    for name, space in _registry_spaces():
        device = space.contract_device
        if device is None:
            continue
        try:
            make(space, device)
        except HwnasError as exc:
            refusals.append(f"{name}: {exc}")
            continue
        return space, device
    raise AssertionError("the oracle accepts none of the spaces: " + " | ".join(refusals))


def supported_space(make: EvaluatorFactory, prefer: str | None = None) -> SearchSpace:
    """The first space of the config registry (`prefer`, then NB201 first) the evaluator accepts."""
    refusals = []
    for name, space in _registry_spaces(prefer):
        try:
            make(space)
        except HwnasError as exc:
            refusals.append(f"{name}: {exc}")
            continue
        return space
    raise AssertionError("the evaluator accepts none of the spaces: " + " | ".join(refusals))
