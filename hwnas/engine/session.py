"""Shared set-up of a run from its config: space, device data, oracle (adapted), evaluator, ledger.

Every command (search, predict, ...) builds its parts here, so set-up and adaptation are counted
the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnas.data import devices
from hwnas.config import instantiate
from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.engine.ledger import CostLedger
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.core.subspace import TableSubspace


@dataclass
class Components:
    space: SearchSpace              # the space searched (restricted to a table where configured)
    oracle: LatencyOracle
    ledger: CostLedger
    true_latency_ms: np.ndarray     # the device's table over the space's rows (NaN = not measured)
    evaluator: Evaluator | None = None


def measure_on_target(space: SearchSpace, device: str, true_latency_ms: np.ndarray,
                      archs: list[Arch]) -> np.ndarray:
    """Latency of `archs` on a tabled target device (each lookup counts as one measurement)."""
    latency = devices.table_lookup_ms(space, true_latency_ms, as_matrix(archs))
    if np.isnan(latency).any():
        bad = space.to_string(archs[int(np.flatnonzero(np.isnan(latency))[0])])
        raise HwnasError(f"device {device} has no measurement of {bad}, which the oracle needs to adapt")
    return latency


def build_components(cfg, *, with_evaluator: bool = True, check_budget: bool = True) -> Components:
    """Instantiate the run's parts from `cfg` and adapt the oracle to the target device."""
    space: SearchSpace = instantiate(cfg.space, "search space")
    device = str(cfg.device)
    devices.require_device(space.name, device)
    true_latency_ms = devices.latency_ms(space.name, device)
    if check_budget:
        devices.check_budget(space.name, device, float(cfg.budget_ms))
    ledger = CostLedger(seconds_per_measurement=float(cfg.get("seconds_per_measurement", 0.0)))
    with ledger.phase("setup"):
        oracle: LatencyOracle = instantiate(cfg.oracle, "oracle", space=space, device=device)
        evaluator = instantiate(cfg.evaluator, "evaluator", space=space) if with_evaluator else None
    ledger.add_setup(oracle.setup_cost())

    coverage = oracle.coverage()
    if coverage is not None:
        if not cfg.get("restrict_to_table", False):
            raise HwnasError(
                f"oracle {oracle.name} on {device} covers {len(coverage):,} architectures of {space.name}, "
                "not the whole space; add restrict_to_table=true to search only those"
            )
        space = TableSubspace(space, coverage)

    references = oracle.reference_archs()
    if references:
        with ledger.phase("adapt"):
            measured = measure_on_target(space, device, true_latency_ms, references)
            ledger.add_measurements("adapt", len(references))
            oracle.adapt(references, measured)
    return Components(space, oracle, ledger, true_latency_ms, evaluator)
