"""The latency-oracle interface: batched latency predictions for one device of one space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch, SearchSpace


@dataclass
class SetupCost:
    """What building an oracle cost before the search: kept apart from per-search cost.

    `target_measurements` are taken on the device the search is for (a full lookup table, say);
    `shared_*` is one-off work reused by every target device (meta-training, a proxy's table).
    """

    target_measurements: int = 0
    shared_measurements: int = 0
    shared_seconds: float = 0.0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class LatencyOracle(ABC):
    """Predicts latency in milliseconds on `device` for many architectures at once.

    Oracles that adapt to a device (HELP, OneProxy) name the architectures they want measured on it
    in `reference_archs()`; the caller measures them (counting the cost) and passes them to `adapt`.
    """

    name: str = "oracle"

    def __init__(self, space: SearchSpace, device: str):
        self.space = space
        self.device = device

    @abstractmethod
    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Latency (ms) of each arch, shape (n,)."""

    def predict_std_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Predictive standard deviation (ms) of each arch, shape (n,), for an oracle that knows its
        uncertainty (a chance constraint needs it); the default has none."""
        raise HwnasError(f"oracle {self.name} gives no predictive uncertainty (predict_std_ms)")

    @classmethod
    def has_uncertainty(cls) -> bool:
        return cls.predict_std_ms is not LatencyOracle.predict_std_ms

    def reference_archs(self) -> list[Arch]:
        """Architectures to measure on the target before predicting (none for a table)."""
        return []

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        """Fit to measurements from the target device."""
        raise HwnasError(f"oracle {self.name} does not adapt to target measurements")

    def setup_cost(self) -> SetupCost:
        return SetupCost()

    def measurements_taken(self) -> tuple[int, float]:
        """(count, seconds) of target-device measurements made while predicting (an oracle that measures)."""
        return 0, 0.0

    def coverage(self) -> np.ndarray | None:
        """Table rows the oracle can answer for, or None when it answers for every architecture."""
        return None
