"""The target device of a session: where its few measurements come from and how they are counted.

`TableTarget` answers from the device's measured table, and for a local device also from its measurements
of architectures outside the table (each lookup counts as one target measurement,
priced at `seconds_per_measurement`); `MeterTarget` times networks on this machine through a measuring
oracle from the config (`calibrate`), counting only fresh measurements and their measured seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from hwnas.config import instantiate
from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.data import devices
from hwnas.engine.ledger import CostLedger

if TYPE_CHECKING:
    from hwnas.engine.session import Session


class Target(Protocol):
    def table_ms(self) -> np.ndarray:
        """The device's latency over the space's table rows (NaN where not measured)."""

    def build_oracle(self, session: "Session") -> LatencyOracle:
        """The session's oracle for this device (set-up phase)."""

    def measure(self, archs: list[Arch], ledger: CostLedger, phase: str) -> np.ndarray:
        """Latency (ms) of `archs` on the device, counted in `ledger` under `phase`."""


def oracle_of(session: "Session") -> LatencyOracle:
    return instantiate(session.cfg.oracle, "oracle", space=session.base_space, device=session.device)


class TableTarget:
    """A device known by its table (shipped data or the local store)."""

    def __init__(self, space: SearchSpace, device: str):
        self.space, self.device = space, device
        devices.require_device(space.name, device)
        self._table_ms = devices.latency_ms(space.name, device)
        self._off_table_ms = devices.off_table_ms(space.name, device)

    def table_ms(self) -> np.ndarray:
        return self._table_ms

    def build_oracle(self, session: "Session") -> LatencyOracle:
        return oracle_of(session)

    def measure(self, archs: list[Arch], ledger: CostLedger, phase: str) -> np.ndarray:
        latency = measure_on_target(self.space, self.device, self._table_ms, archs, self._off_table_ms)
        ledger.add_measurements(phase, len(archs))
        return latency


def measure_on_target(space: SearchSpace, device: str, true_latency_ms: np.ndarray, archs: list[Arch],
                      off_table_ms: dict[str, float] | None = None) -> np.ndarray:
    """Latency of `archs` from a tabled target's `true_latency_ms`, else its off-table measurements by text
    form (HwnasError naming an arch it lacks)."""
    latency = devices.table_lookup_ms(space, true_latency_ms, as_matrix(archs))
    for i in np.flatnonzero(np.isnan(latency)) if off_table_ms else ():
        latency[i] = off_table_ms.get(space.to_string(tuple(int(v) for v in archs[i])), np.nan)
    if np.isnan(latency).any():
        bad = space.to_string(archs[int(np.flatnonzero(np.isnan(latency))[0])])
        raise HwnasError(f"device {device} has no measurement of {bad}, which the oracle needs to adapt")
    return latency


class MeterTarget:
    """This machine, timed by `meter` (a measuring oracle that stores what it measures in the local store).

    An oracle that needs device data before it exists (OneProxy draws its probes from the device's own
    measured rows) gets `samples` seeded measurements first when `bootstrap` is on.
    """

    def __init__(self, space: SearchSpace, device: str, meter: LatencyOracle, *, bootstrap: bool, samples: int,
                 seed: int, choose_archs):
        self.space, self.device, self.meter = space, device, meter
        self.bootstrap, self.samples, self.seed, self.choose_archs = bootstrap, samples, seed, choose_archs
        self.bootstrapped = {"fresh": 0, "seconds": 0.0, "archs": 0}
        self.seconds: dict[str, float] = {}      # measuring seconds by ledger phase

    def table_ms(self) -> np.ndarray:
        known = self._known()
        return devices.latency_ms(self.space.name, self.device) if known else np.full(0, np.nan)

    def _known(self) -> bool:
        try:
            devices.require_device(self.space.name, self.device)
            return True
        except HwnasError:
            return False

    def build_oracle(self, session: "Session") -> LatencyOracle:
        try:
            return oracle_of(session)
        except HwnasError as exc:
            stored = devices.require_device(self.space.name, self.device).n_archs if self._known() else 0
            if not self.bootstrap or stored >= self.samples:
                raise
            first = str(exc)
        exclude = np.flatnonzero(np.isfinite(self.table_ms())) if self._known() else ()
        archs = self.choose_archs(self.space, self.samples - stored, self.seed, exclude_rows=exclude)
        ledger = session.ledger
        before, seconds = ledger.target_measurements["setup"], ledger.measurement_seconds
        self.measure(archs, ledger, "setup")
        self.bootstrapped.update(fresh=ledger.target_measurements["setup"] - before, archs=len(archs),
                                 seconds=ledger.measurement_seconds - seconds, reason=first)
        try:
            return oracle_of(session)
        except HwnasError as exc:
            raise HwnasError(f"{exc} (after measuring {len(archs)} bootstrap architectures)") from None

    def measure(self, archs: list[Arch], ledger: CostLedger, phase: str) -> np.ndarray:
        """Time `archs` (reusing stored measurements); a network that fails to run is refused before the
        search (an oracle cannot adapt on it) and is simply over budget when verifying (infinite latency)."""
        before, seconds, failed = self.meter.fresh_measurements, self.meter.measurement_seconds, len(self.meter.failures)
        latency = np.asarray(self.meter.predict_ms(archs), dtype=float)
        spent = self.meter.measurement_seconds - seconds
        ledger.add_measurements(phase, self.meter.fresh_measurements - before, spent)
        self.seconds[phase] = self.seconds.get(phase, 0.0) + spent
        if phase != "verify" and len(self.meter.failures) > failed:
            bad = self.meter.failures[failed]
            raise HwnasError(f"could not measure {self.space.to_string(bad.arch)} on {self.device}: {bad.status}")
        return latency
