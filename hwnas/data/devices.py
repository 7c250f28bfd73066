"""The device catalogue: every device column in the data, its kind, batch size, source and coverage.

A device is named per search space (the same name, e.g. `pixel3`, exists for NB201 and FBNet).
Latencies come back as one vector over the space's table rows (NB201: the official index), with
NaN where the device has no measurement, so that a lookup for many architectures is one indexing.
Devices measured on the user's own machines (`local-*`, see `hwnas.data.device_store`) join the
catalogue from the local store; `local-cpu` exists (empty) before its first measurement.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass

import numpy as np

from hwnas import data

from hwnas.data import device_store
from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError, unknown_choice

# (pattern, kind, source-suffix). First match wins; the batch size is the `_N` suffix of GPU names.
_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"^(1080ti|2080ti|titan_rtx|titanx|titanxp|titan_xp|v100)_\d+$", "GPU"),
    (r"^(gold|silver)_\w+$", "CPU"),
    (r"^(pixel2|pixel3|samsung_a50|samsung_s7|essential_ph_1|rice_pixel3)$", "phone"),
    (r"^(rice_)?raspi4$", "embedded CPU"),
    (r"^(rice_)?eyeriss$", "ASIC"),
    (r"^(rice_)?fpga$", "FPGA"),
    (r"^(rice_edgegpu|eagle_jetson|eagle_jetson_16)$", "edge GPU"),
    (r"^(rice_edgetpu|eagle_tpu)$", "edge TPU"),
    (r"^eagle_gtx$", "GPU"),
    (r"^eagle_i7$", "CPU"),
    (r"^(eagle_cpu_855|true_a76)$", "mobile CPU"),
    (r"^(eagle_gpu_855|true_630|true_640)$", "mobile GPU"),
    (r"^eagle_dsp_855$", "mobile DSP"),
    (r"^true_vpu$", "VPU"),
)

SPACES = ("nasbench201", "fbnet", "ofa_mbv3")
_HELP_DIR = {"nasbench201": "nasbench201", "fbnet": "fbnet", "ofa_mbv3": "ofa"}


@dataclass(frozen=True)
class Device:
    """One device column of one space's latency data."""

    name: str
    space: str
    kind: str
    batch_size: int | None
    source: str
    n_archs: int


def device_kind(name: str) -> str:
    for pattern, kind in _KIND_RULES:
        if re.match(pattern, name):
            return kind
    return "other"


def _batch_size(name: str, kind: str) -> int | None:
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if kind == "GPU" and match else None


def _source(name: str, table: str) -> str:
    if table == "help":
        hw_nas_bench = name in ("eyeriss", "fpga", "pixel3", "raspi4")
        return "HELP (Lee et al. 2021)" + (", from HW-NAS-Bench (Li et al. 2021)" if hw_nas_bench else "")
    prefix = name.split("_")[0]
    origin = {"rice": "HW-NAS-Bench (Li et al. 2021)", "eagle": "EAGLE/BRP-NAS (Dudziak et al. 2020)",
              "true": "nn-Meter (Zhang et al. 2021)"}.get(prefix, "OneProxy")
    return f"OneProxy (Lu et al. 2021), from {origin}"


@functools.lru_cache(maxsize=None)
def _tables(space: str) -> dict[str, tuple[np.ndarray, str]]:
    """device name -> (latency vector over the space's table rows, NaN = missing; table name)."""
    if space not in SPACES:
        raise unknown_choice("search space", space, SPACES)
    out: dict[str, tuple[np.ndarray, str]] = {}
    frame = data.nb201_help_latency() if space == "nasbench201" else data.help_latency(_HELP_DIR[space])
    for column in frame.columns:
        vector = frame[column].to_numpy(dtype=float).copy()
        vector.setflags(write=False)
        out[column] = (vector, "help")
    if space == "nasbench201":
        sub = data.nb201_oneproxy_latency()
        for column in sub.columns:
            vector = np.full(data.NB201_SIZE, np.nan)
            vector[sub.index.to_numpy()] = sub[column].to_numpy(dtype=float)
            vector.setflags(write=False)
            out[column] = (vector, "oneproxy")
    return out


def _n_rows(space: str) -> int:
    return len(next(iter(_tables(space).values()))[0])


def _local_device(space: str, name: str) -> Device:
    local = device_store.table(space, name, _n_rows(space))
    settings = local.settings
    kind = "GPU" if settings.get("backend") == "cuda" else "CPU"
    batch = int(settings["batch_size"]) if settings.get("batch_size") else None
    described = ", ".join(f"{k}={v}" for k, v in settings.items()) or "not measured yet"
    return Device(name, space, kind, batch, f"local store {device_store.device_file(space, name)} ({described})",
                  int(np.isfinite(local.latency_ms).sum()))


def default_local_devices() -> tuple[str, ...]:
    """Local devices that exist before any measurement: this machine's CPU, and its GPU when torch
    (already imported by whoever measures: importing it here would slow every command) sees one."""
    torch = sys.modules.get("torch")
    cuda = torch is not None and torch.cuda.is_available()
    return ("local-cpu", "local-cuda") if cuda else ("local-cpu",)


def devices(space: str) -> dict[str, Device]:
    """Every device with data for `space`, by name: the shipped tables, then the local store."""
    out = {}
    for name, (vector, table) in _tables(space).items():
        kind = device_kind(name)
        out[name] = Device(name, space, kind, _batch_size(name, kind), _source(name, table),
                           int(np.isfinite(vector).sum()))
    for name in device_store.local_device_names(space):
        out[name] = _local_device(space, name)
    return out


def catalogue() -> list[Device]:
    """All devices of all spaces."""
    return [device for space in SPACES for device in devices(space).values()]


def latency_ms(space: str, device: str) -> np.ndarray:
    """The device's latency over the space's table rows (read-only; NaN where not measured)."""
    tables = _tables(space)
    if device in tables:
        return tables[device][0]
    if _known_local(space, device):
        return device_store.table(space, device, _n_rows(space)).latency_ms
    raise unknown_choice(f"device for space {space}", device, _all_names(space))


def _known_local(space: str, device: str) -> bool:
    if not device_store.is_local(device):
        return False
    if device in ("local-cpu", "local-cuda"):
        return device in default_local_devices() or device in device_store.local_device_names(space)
    return device in device_store.local_device_names(space)


def _all_names(space: str) -> list[str]:
    return [*_tables(space), *device_store.local_device_names(space), *default_local_devices()]


def table_lookup_ms(space, latency_ms: np.ndarray, archs) -> np.ndarray:
    """`latency_ms` (a vector over `space`'s table rows) at each arch, batched; NaN where the arch is not
    in the table or the device has no measurement of it."""
    rows = np.asarray(space.table_index(archs), dtype=np.int64)
    return np.where(rows >= 0, latency_ms[np.maximum(rows, 0)], np.nan)


def coverage(space: str, device: str) -> np.ndarray:
    """Table rows the device has a measurement for."""
    return np.flatnonzero(np.isfinite(latency_ms(space, device)))


def require_device(space: str, device: str) -> Device:
    table = devices(space)
    if device in table:
        return table[device]
    if _known_local(space, device):
        return _local_device(space, device)
    raise unknown_choice(f"device for space {space}", device, _all_names(space))


def check_budget(space: str, device: str, budget_ms: float) -> None:
    """Refuse a budget that no tabled architecture meets, naming the fastest latency.

    A local device holds only the architectures measured so far, so it proves nothing infeasible.
    """
    vector = latency_ms(space, device)
    if device_store.is_local(device):
        return
    fastest = int(np.nanargmin(vector))
    if not Constraint(budget_ms).feasible(float(vector[fastest])):
        raise HwnasError(
            f"budget_ms={budget_ms} is infeasible on {device}: the fastest {space} architecture "
            f"(table row {fastest}) takes {vector[fastest]:.4g} ms"
        )
