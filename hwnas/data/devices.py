"""The device catalogue: every device with latency data for a search space, its kind, batch size, source and coverage.

A device is named per search space (the same name, e.g. `pixel3`, exists for NB201 and FBNet). The space
plug-ins of the config registry (`conf/space/*.yaml`, plus `$HWNAS_CONFIG_PATH`) declare their shipped
tables (`SearchSpace.latency_tables`), read here once per space: one latency vector over the space's table
rows, NaN where the device has no measurement, so a lookup for many architectures is one indexing.
Devices measured on the user's own machines (`local-*`, see `hwnas.data.device_store`) join the
catalogue from the local store; `local-cpu` exists (empty) before its first measurement.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from hwnas.config import group_choices, group_file, instantiate
from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.records import DeviceTable
from hwnas.core.space import SearchSpace
from hwnas.data import device_store


@dataclass(frozen=True)
class Device:
    """One device column of one space's latency data."""

    name: str
    space: str
    kind: str
    batch_size: int | None
    source: str
    n_archs: int


def _registered(space: str) -> str:
    """The config file of the space plug-in registered as `space`; an unknown name lists close matches."""
    choices = group_choices("space")
    if space not in choices:
        raise unknown_choice("search space", space, choices)
    return str(group_file("space", space))


@functools.lru_cache(maxsize=None)
def _space_at(space: str, path: str) -> SearchSpace:
    from omegaconf import OmegaConf

    try:
        node = OmegaConf.load(path)
    except Exception as exc:  # noqa: BLE001 - any YAML error becomes one line
        raise HwnasError(f"search space config {path} is not valid YAML: {exc}") from None
    return instantiate(node, "search space")


def search_space(space: str) -> SearchSpace:
    """The space plug-in registered as `space` in the config registry (one instance per config file)."""
    return _space_at(space, _registered(space))


@functools.lru_cache(maxsize=None)
def _tables_at(space: str, path: str) -> Mapping[str, DeviceTable]:
    """The space's declared tables, checked: one read-only float vector per device, all of one length."""
    out = {}
    for name, table in _space_at(space, path).latency_tables().items():
        vector = np.asarray(table.latency_ms, dtype=float)
        if vector.ndim != 1:
            raise HwnasError(f"search space {space}: latency table of device {name} is not one value per table row")
        if vector.flags.writeable:
            vector = vector.copy()
            vector.setflags(write=False)
        out[str(name)] = table if vector is table.latency_ms else dataclasses.replace(table, latency_ms=vector)
    lengths = sorted({len(t.latency_ms) for t in out.values()})
    if len(lengths) > 1:
        raise HwnasError(f"search space {space}: its latency tables have {lengths} rows; each needs one value "
                         "per table row")
    return out


def tables(space: str) -> Mapping[str, DeviceTable]:
    """The shipped latency tables `space` declares, by device name (checked, read once per process)."""
    return _tables_at(space, _registered(space))



def _n_rows(space: str) -> int:
    """Rows of the space's table: the length of its declared latency vectors, else of `table_archs()`."""
    shipped = tables(space)
    if shipped:
        return len(next(iter(shipped.values())).latency_ms)
    return len(search_space(space).table_archs())


def _local_device(space: str, name: str) -> Device:
    local = device_store.table(space, name, _n_rows(space))
    settings = local.settings
    kind = device_store.device_info(space, name).get("kind") or ("GPU" if settings.get("backend") == "cuda" else "CPU")
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
    out = {name: Device(name, space, t.kind, t.batch_size, t.source, t.n_archs) for name, t in tables(space).items()}
    for name in device_store.local_device_names(space):
        try:
            out[name] = _local_device(space, name)
        except HwnasError as exc:  # a damaged local file refuses its own device only, not the catalogue
            warnings.warn(f"{exc} (device {name} left out of the catalogue)", stacklevel=2)
    return out


def catalogue() -> list[Device]:
    """All devices of all spaces of the config registry."""
    return [device for space in group_choices("space") for device in devices(space).values()]


def device_kind(name: str, space: str | None = None) -> str:
    """The kind of device `name` (of `space`, else of the first space that has it); "other" when none has it."""
    for each in [space] if space is not None else group_choices("space"):
        table = tables(each).get(name)
        if table is not None:
            return table.kind
    return "other"


def latency_ms(space: str, device: str) -> np.ndarray:
    """The device's latency over the space's table rows (read-only; NaN where not measured)."""
    shipped = tables(space)
    if device in shipped:
        return shipped[device].latency_ms
    if _known_local(space, device):
        return device_store.table(space, device, _n_rows(space)).latency_ms
    raise unknown_choice(f"device for space {space}", device, _all_names(space))


def off_table_ms(space: str, device: str) -> dict[str, float]:
    """A local device's latency of architectures outside the table, by text form ({} for a shipped device)."""
    if device in tables(space) or not _known_local(space, device):
        return {}
    return device_store.off_table(space, device)


def _known_local(space: str, device: str) -> bool:
    if not device_store.is_local(device):
        return False
    if device in ("local-cpu", "local-cuda"):
        return device in default_local_devices() or device in device_store.local_device_names(space)
    return device in device_store.local_device_names(space)


def _all_names(space: str) -> list[str]:
    return [*tables(space), *device_store.local_device_names(space), *default_local_devices()]


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
    if not np.isfinite(vector).any():
        raise HwnasError(f"device {device} has no measured {space} architecture, so no budget can be checked")
    fastest = int(np.nanargmin(vector))
    if not Constraint(budget_ms).feasible(float(vector[fastest])):
        raise HwnasError(
            f"budget_ms={budget_ms} is infeasible on {device}: the fastest {space} architecture "
            f"(table row {fastest}) takes {vector[fastest]:.4g} ms"
        )
