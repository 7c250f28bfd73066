"""The values the search-space interface passes: architectures, dimensions, and the data a space ships.

A space declares its measured data with these records (`SearchSpace.latency_tables`, `reference_rows`),
so the core's device catalogue, analyses and oracles reach any space's data without naming one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hwnas.core.errors import HwnasError

Arch = tuple[int, ...]


@dataclass(frozen=True)
class Dimension:
    """One categorical decision of a space: a name and its ordered choices."""

    name: str
    choices: tuple

    def __len__(self) -> int:
        return len(self.choices)


def as_matrix(archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
    """Archs as an (n, dims) int array, the batched form every encoder and oracle works on."""
    matrix = np.asarray(archs, dtype=np.int64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1) if matrix.size else matrix.reshape(0, 0)
    return matrix


def text_or_json_form(value: object, what: str) -> tuple[str, object | None]:
    """A stripped architecture string, and its decoded JSON form when it is one (starts with '{');
    a non-string or malformed JSON is a one-line error naming `what` (the space)."""
    if not isinstance(value, str):
        raise HwnasError(f"{what} architecture must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text.startswith("{"):
        return text, None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise HwnasError(f"malformed {what} JSON {text!r}: {exc}") from None


@dataclass(frozen=True)
class LatencyTable:
    """One measured data set of a space: a name unique over all spaces, what it holds, the file it is read from."""

    name: str                   # e.g. "nb201_help"
    description: str            # e.g. "NAS-Bench-201, HELP's 27 devices on all 15,625 architectures"
    file: str | None = None     # under the data folder (or absolute); identifies the data, e.g. in caches


# User attributes of an Optuna trial written by hwnas (a study shared by several workers is summarised from them):
STUDY_WORKER_ATTR = "hwnas_worker"   # the worker that asked the trial
STUDY_RESULT_ATTR = "hwnas"          # arch string, latency_ms, violation_ms, feasible, accuracy

# What a device is: prices its measurements in the cost model (conf/cost_model.yaml overhead_s).
DEVICE_KINDS = ("GPU", "CPU", "phone", "embedded CPU", "mobile CPU", "mobile GPU", "mobile DSP", "edge GPU",
                "edge TPU", "FPGA", "ASIC", "VPU", "other")


@dataclass(frozen=True)
class DeviceTable:
    """One device's measured latency over the space's table rows (NaN = not measured), and what the device is."""

    device: str
    latency_ms: np.ndarray      # one value per table row, read-only
    kind: str                   # e.g. "GPU", "phone", "FPGA" (prices a measurement in the cost model)
    batch_size: int | None
    source: str                 # who measured it, in words
    table: LatencyTable         # the data set it came from

    @property
    def n_archs(self) -> int:
        """Architectures the device has a measurement of."""
        return int(np.isfinite(self.latency_ms).sum())


@dataclass(frozen=True)
class ReferenceRows:
    """Table rows of a space's reference architectures (HELP's hardware embedding), and their file."""

    rows: tuple[int, ...] = ()
    file: str | None = None
