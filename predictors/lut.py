"""Exact lookup table: the device's measured latency of each architecture, straight from the data."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.data import devices
from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch, SearchSpace, as_matrix


class LookupTable(LatencyOracle):
    """The table itself. Building it for a new device means measuring every entry (its setup cost)."""

    name = "lut"

    def __init__(self, space: SearchSpace, device: str):
        super().__init__(space, device)
        devices.require_device(space.name, device)
        self._latency_ms = devices.latency_ms(space.name, device)
        self._covered = np.flatnonzero(np.isfinite(self._latency_ms))

    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        latency = devices.table_lookup_ms(self.space, self._latency_ms, as_matrix(archs))
        missing = np.flatnonzero(np.isnan(latency))
        if missing.size:
            arch = self.space.to_string(tuple(as_matrix(archs)[missing[0]]))
            raise HwnasError(
                f"{arch} is not in {self.device}'s table ({len(self._covered):,} of "
                f"{len(self._latency_ms):,} architectures measured); search with restrict_to_table=true"
            )
        return latency

    def predict_std_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """A measured table has no predictive spread (a chance constraint is the plain rule on it)."""
        return np.zeros(len(self.predict_ms(archs)))

    def coverage(self) -> np.ndarray | None:
        whole = len(self._covered) == len(self._latency_ms) and self.space.exhaustively_tabled
        return None if whole else self._covered

    def setup_cost(self) -> SetupCost:
        return SetupCost(target_measurements=len(self._covered))
