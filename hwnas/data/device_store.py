"""The local device store: latencies measured on the user's own machines, one file per space and device.

Layout: `<store>/<space>/<device>.csv`, one row per measurement, keyed like the shared tables by the
space's table `index` (NB201: the official index) with `latency_ms`; an architecture outside the table has
index -1 and is keyed by its text form (`arch`); every row also carries the settings it was measured with and its noise. Files are
append-only; writers and readers hold an exclusive lock (`filelock`, on `<file>.lock`; portable, no
`fcntl`) and writers write whole lines in one call, so concurrent `hwnas measure` runs never interleave
or tear rows. A device is one set of latency-changing settings: appending rows measured with other
settings is refused. `host` names the machine that measured (a Ray worker's host for `executor=ray`), and
`device_resource` the Ray resource a remote device was reached through ("" when measured locally).

The store is `$HWNAS_DEVICE_STORE`, else `~/.hwnas/devices`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from filelock import FileLock

from hwnas.core.errors import HwnasError

ENV_VAR = "HWNAS_DEVICE_STORE"
LOCAL_PREFIX = "local-"
_NAME = re.compile(r"^local-[a-z0-9][a-z0-9_.-]*$")

# Columns of a store file; the settings columns define the device (they change latency).
SETTINGS = ("backend", "threads", "batch_size", "dtype", "channels_last", "clock", "runtime", "runtime_version",
            "graph_optimization", "device_resource")
# clock, then the runtime columns, then device_resource come last: a store written before them lacks them, and
# its rows read as clock=wall, runtime=torch (whose version and options are recorded as empty), measured locally
_LATER = ("clock", "runtime", "runtime_version", "graph_optimization", "device_resource")
COLUMNS = ("index", "arch", "latency_ms", "spread_ms", "rel_spread", "min_ms", "repeats", "stable", "status", "note",
           *SETTINGS[:5], "torch", "host", "measured_at", "seconds", *_LATER)


def _known_header(header: list[str] | None) -> bool:
    """COLUMNS, or COLUMNS without some of the later columns (a file written before they existed)."""
    return (header is not None and set(header) <= set(COLUMNS) and set(COLUMNS) - set(header) <= set(_LATER)
            and header == [c for c in COLUMNS if c in header])


def store_dir() -> Path:
    """The store folder (`$HWNAS_DEVICE_STORE` or `~/.hwnas/devices`); it may not exist yet."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".hwnas" / "devices"


def is_local(device: str) -> bool:
    return str(device).startswith(LOCAL_PREFIX)


def check_name(device: str) -> str:
    """A local device name: `local-` then lower-case letters, digits, `_ . -` (it becomes a file name)."""
    if not _NAME.match(str(device)):
        raise HwnasError(f"device {device!r} cannot hold this machine's measurements: a local device is named "
                         "'local-<name>' with lower-case letters, digits, '_', '.', '-' (e.g. local-cpu)")
    return str(device)


def device_file(space: str, device: str) -> Path:
    return store_dir() / space / f"{check_name(device)}.csv"


def info_file(space: str, device: str) -> Path:
    """The device's description beside its rows (`kind`: what it is), written by `hwnas import kind=...`."""
    return device_file(space, device).with_suffix(".json")


def device_info(space: str, device: str) -> dict:
    """The device's stored description, {} when none; a damaged file is a one-line error naming it."""
    path = info_file(space, device)
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("expected a JSON object")
        return info
    except (OSError, ValueError) as exc:
        raise HwnasError(f"corrupt local device description {path}: {exc}; delete it or import with kind=...") \
            from None


def set_device_info(space: str, device: str, **info) -> Path:
    """Merge `info` into the device's stored description (atomic write)."""
    from hwnas.data.cache import atomic_write_json

    return atomic_write_json(info_file(space, device), {**device_info(space, device), **info}, indent=1)


def local_device_names(space: str) -> list[str]:
    folder = store_dir() / space
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("local-*.csv") if _NAME.match(p.stem))


def _settings_of(row: dict) -> dict:
    out = {key: str(row.get(key, "")) for key in SETTINGS}
    out["clock"] = out["clock"] or "wall"
    out["runtime"] = out["runtime"] or "torch"
    return out


def _format(row: dict) -> dict:
    out = {}
    for key in COLUMNS:
        value = row.get(key, "")
        if isinstance(value, float):
            value = "" if not np.isfinite(value) else repr(value)
        elif isinstance(value, (bool, np.bool_)):
            value = str(bool(value)).lower()
        out[key] = "" if value is None else str(value)
    return out


def append(space: str, device: str, rows: Iterable[dict]) -> Path:
    """Append measurement rows (dicts with COLUMNS keys) under an exclusive lock, in one write.

    Refuses rows whose settings differ from those already stored for the device, naming both.
    """
    rows = [_format(r) for r in rows]
    path = device_file(space, device)
    if not rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        with open(path, "a+", newline="", encoding="utf-8") as fh:
            fh.seek(0)
            existing = _parse(_read_text(path, fh), path)
            new = _settings_of(rows[0])
            for row in rows[1:]:
                if _settings_of(row) != new:
                    raise HwnasError(f"one append to {path} mixes measurement settings {new} and {_settings_of(row)}")
            if existing and _settings_of(existing[0]) != new:
                raise HwnasError(
                    f"device {device} ({space}) was measured with {_settings_of(existing[0])}, not {new}; "
                    f"measure with those settings or name another device (e.g. {device}-t{new['threads']})")
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
            if fh.tell() == 0:
                writer.writeheader()
            elif not _ends_with_newline(path):
                buffer.write("\n")  # a torn last line (killed writer) stays a line of its own and is skipped
            writer.writerows(rows)
            fh.write(buffer.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
    return path


def _lock(path: Path) -> FileLock:
    """The exclusive lock of a store file (held on `<file>.lock`, which is left in place)."""
    return FileLock(str(path) + ".lock")


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def read(space: str, device: str) -> list[dict]:
    """Every stored measurement row of the device, oldest first ([] when none)."""
    path = device_file(space, device)
    if not path.is_file():
        return []
    try:
        with _lock(path):
            text = _read_text(path)
    except PermissionError:  # a read-only store cannot hold the lock file, and nobody can append there
        text = _read_text(path)
    try:
        return _parse(text, path)
    except csv.Error as exc:  # e.g. a huge field: random bytes that happen to decode
        raise HwnasError(f"corrupt device store file {path}: {exc}; move the file away and measure again") from None


def _read_text(path: Path, fh=None) -> str:
    """The file's text; bytes that are not UTF-8 (a damaged or foreign file) are a one-line error."""
    try:
        if fh is not None:
            return fh.read()
        with open(path, newline="", encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise HwnasError(f"corrupt device store file {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "move the file away and measure again") from None


def _parse(text: str, path: Path) -> list[dict]:
    """Rows of a store file; a malformed row (a writer killed mid-line) is skipped with a warning."""
    if not text:
        return []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not _known_header(header):
        raise HwnasError(f"corrupt device store file {path}: header is not {','.join(COLUMNS)}; "
                         "move the file away and measure again (bring your own latencies with `hwnas import`)")
    rows = []
    for values in reader:
        if not values:
            continue
        try:
            if len(values) not in (len(header), len(COLUMNS)):
                raise ValueError(f"{len(values)} fields, expected {len(COLUMNS)}")
            row = dict(zip(header if len(values) == len(header) else COLUMNS, values))
            row["index"] = int(row["index"])
            row["latency_ms"] = float(row["latency_ms"]) if row["latency_ms"] else float("nan")
        except ValueError as exc:
            warnings.warn(f"{path}:{reader.line_num}: skipped a malformed row ({exc})", stacklevel=3)
            continue
        rows.append(row)
    return rows


@dataclass(frozen=True)
class LocalTable:
    """A local device as a table: per-row median latency (NaN = not measured) and its settings."""

    latency_ms: np.ndarray
    settings: dict
    measurements: int


_CACHE: dict[tuple, LocalTable] = {}


def table(space: str, device: str, n_rows: int) -> LocalTable:
    """Median latency per table row over the device's successful measurements (cached per file state)."""
    path = device_file(space, device)
    stat = path.stat() if path.is_file() else None
    key = (str(path), n_rows, stat.st_mtime_ns if stat else None, stat.st_size if stat else None)
    if key in _CACHE:
        return _CACHE[key]
    rows = [r for r in read(space, device) if r["status"] == "ok" and r["index"] >= 0
            and np.isfinite(r["latency_ms"])]
    vector = np.full(n_rows, np.nan)
    if rows:
        index = np.array([r["index"] for r in rows], dtype=np.int64)
        if index.max() >= n_rows:
            raise HwnasError(f"corrupt device store file {path}: index {index.max()} beyond the table's {n_rows} rows")
        latency = np.array([r["latency_ms"] for r in rows])
        order = np.argsort(index, kind="stable")
        index, latency = index[order], latency[order]
        unique, starts = np.unique(index, return_index=True)
        vector[unique] = [np.median(chunk) for chunk in np.split(latency, starts[1:])]
    vector.setflags(write=False)
    settings = _settings_of(rows[0]) if rows else {}
    result = LocalTable(vector, settings, len(rows))
    _CACHE[key] = result
    return result


def off_table(space: str, device: str) -> dict[str, float]:
    """Median latency per architecture outside the table (index -1), keyed by its text form."""
    by_arch: dict[str, list[float]] = {}
    for row in read(space, device):
        if row["status"] == "ok" and row["index"] < 0 and np.isfinite(row["latency_ms"]):
            by_arch.setdefault(row["arch"], []).append(row["latency_ms"])
    return {arch: float(np.median(values)) for arch, values in by_arch.items()}


def settings_of(row: dict) -> dict:
    """The latency-changing settings of a row to store (one device holds one set of them)."""
    return _settings_of(_format(row))


def auto_clock(space: str, device: str, threads: int) -> str:
    """What `clock=auto` means for a device: the clock of its stored measurements, so that one device keeps
    one clock (unless that is thread_cpu and `threads` > 1); "auto" (decided by the thread count) otherwise."""
    rows = read(space, device) if is_local(device) else []
    if rows and (rows[0]["clock"] != "thread_cpu" or int(threads) == 1):
        return str(rows[0]["clock"])
    return "auto"


def check_settings(space: str, device: str, settings: dict) -> None:
    """Refuse to mix: raise when the device's stored measurements were taken with other settings."""
    rows = read(space, device)
    wanted = _settings_of(_format(settings))
    if rows and _settings_of(rows[0]) != wanted:
        raise HwnasError(
            f"device {device} ({space}) was measured with {_settings_of(rows[0])}, not {wanted}; "
            f"measure with those settings or name another device (e.g. {device}-t{wanted['threads']})")
