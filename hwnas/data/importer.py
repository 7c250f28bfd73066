"""Bring your own latency table: a user's CSV of measured latencies into the local device store.

The CSV has an `arch` column (the space's text form or its data's JSON form) or an `index` column (a
table row), plus `latency_ms`, and optionally `std_ms`, `runtime`, `batch_size`, `note`, `file` (the model
file of an offline job's manifest, kept in the note). Every row is
checked before anything is written; the first bad row is one error naming the file, line and problem.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.records import DEVICE_KINDS
from hwnas.core.space import SearchSpace
from hwnas.data import device_store

KEYS = ("arch", "index")
REQUIRED = ("latency_ms",)
OPTIONAL = ("std_ms", "runtime", "batch_size", "note", "file")
DEFAULT_RUNTIME = "imported"


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: rows, how many are table rows, and the device file."""

    path: Path
    rows: int
    table_rows: int
    off_table: int
    duplicates: int


def _problem(path: Path, line: int, message: str) -> HwnasError:
    return HwnasError(f"{path}:{line}: {message}")


def _header(path: Path, fields: list[str] | None) -> str:
    """The key column (`arch` or `index`), after checking the column set of line 1."""
    if not fields:
        raise _problem(path, 1, "empty file; expected a header such as 'arch,latency_ms' or 'index,latency_ms'")
    names = [f.strip() for f in fields]
    unknown = [n for n in names if n not in (*KEYS, *REQUIRED, *OPTIONAL)]
    keys = [k for k in KEYS if k in names]
    if unknown or len(keys) != 1 or "latency_ms" not in names or len(set(names)) != len(names):
        raise _problem(path, 1, f"columns {','.join(names)} are not one of arch|index, then latency_ms, and "
                                f"optionally {', '.join(OPTIONAL)}" + (f" (unknown: {', '.join(unknown)})"
                                                                       if unknown else ""))
    return keys[0]


def _positive_ms(text: str, what: str, *, allow_zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HwnasError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise HwnasError(f"{what} {text!r} must be a finite number {'>=' if allow_zero else '>'} 0")
    return value


def _arch(space: SearchSpace, key: str, text: str, table: np.ndarray):
    n_rows = len(table)
    if key == "index":
        try:
            row = int(text)
        except ValueError:
            raise HwnasError(f"index {text!r} is not an integer") from None
        if not 0 <= row < n_rows:
            raise HwnasError(f"index {row} out of range 0..{n_rows - 1} (the rows of {space.name}'s table)"
                             if n_rows else f"{space.name} has no table: give an arch column instead of index")
        return tuple(int(v) for v in table[row])
    if not text.strip():
        raise HwnasError("empty arch")
    try:
        return space.validate(space.from_string(text))
    except HwnasError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plug-in's parser failing any other way is still one bad row
        raise HwnasError(f"malformed {space.name} architecture {text!r}: {exc}") from None


def _settings(values: dict) -> dict:
    runtime = (values.get("runtime") or "").strip() or DEFAULT_RUNTIME
    batch = (values.get("batch_size") or "").strip()
    if batch:
        try:
            if int(batch) < 1:
                raise ValueError
        except ValueError:
            raise HwnasError(f"batch_size {batch!r} must be an integer >= 1") from None
        batch = str(int(batch))
    return {"backend": runtime, "batch_size": batch}


def read_rows(space: SearchSpace, path: Path) -> tuple[list[dict], int]:
    """Store rows of every CSV row (checked; exact duplicates dropped), and the duplicates dropped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HwnasError(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    key = _header(path, reader.fieldnames)
    table = np.asarray(space.table_archs())
    n_rows = len(table)
    seen: dict[object, tuple[int, float]] = {}
    rows, duplicates, first_settings = [], 0, None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for values in reader:
        line = reader.line_num
        values = {(k or "").strip(): v for k, v in values.items()}
        if None in values.values() or "" in values:
            raise _problem(path, line, f"{len(reader.fieldnames)} columns expected")
        if not any((v or "").strip() for v in values.values()):
            continue
        try:
            arch = _arch(space, key, values[key], table)
            latency = _positive_ms(values["latency_ms"].strip(), "latency_ms")
            std = values.get("std_ms", "").strip()
            std_ms = _positive_ms(std, "std_ms", allow_zero=True) if std else float("nan")
            settings = _settings(values)
        except HwnasError as exc:
            raise _problem(path, line, str(exc)) from None
        if first_settings is None:
            first_settings = (line, settings)
        elif settings != first_settings[1]:
            raise _problem(path, line, f"runtime/batch_size {settings} differ from line {first_settings[0]}'s "
                                       f"{first_settings[1]}; one device is one set of settings")
        table_row = int(space.table_index([arch])[0]) if n_rows else -1
        text_form = space.to_string(arch)
        identity = table_row if table_row >= 0 else text_form
        if identity in seen:
            earlier, earlier_ms = seen[identity]
            if earlier_ms != latency:
                raise _problem(path, line, f"{text_form} again, with latency_ms {latency:g} (line {earlier}: "
                                           f"{earlier_ms:g})")
            duplicates += 1
            continue
        seen[identity] = (line, latency)
        rows.append({"index": table_row, "arch": text_form, "latency_ms": latency, "spread_ms": std_ms,
                     "status": "ok", "note": _note(values), **settings,
                     "host": f"imported from {path.name}", "measured_at": stamp})
    if not rows:
        raise _problem(path, reader.line_num or 1, "no latency rows after the header")
    return rows, duplicates


def import_table(space: SearchSpace, device: str, path: str | Path, kind: str | None = None) -> ImportResult:
    """Check every row of `path`, then append them all in one write to the local `device` of `space`;
    `kind` (one of DEVICE_KINDS) says what the device is, for the cost model and the catalogue."""
    device_store.check_name(device)
    if kind is not None and kind not in DEVICE_KINDS:
        raise unknown_choice("device kind", kind, DEVICE_KINDS)
    path = Path(path).expanduser()
    rows, duplicates = read_rows(space, path)
    existing = device_store.read(space.name, device)
    if existing:
        have, new = device_store.settings_of(existing[0]), device_store.settings_of(rows[0])
        if have != new:
            changed = {k: f"{have[k] or '-'} (stored) vs {new[k] or '-'} ({path.name})"
                       for k in have if have[k] != new[k]}
            raise HwnasError(f"device {device} ({space.name}) holds measurements with other settings: "
                             + "; ".join(f"{k} {v}" for k, v in changed.items())
                             + "; import into another local-<name> device")
    store_path = device_store.append(space.name, device, rows)
    if kind is not None:
        device_store.set_device_info(space.name, device, kind=kind)
    in_table = int(np.sum(np.array([r["index"] for r in rows]) >= 0))
    return ImportResult(store_path, len(rows), in_table, len(rows) - in_table, duplicates)


def _note(values: dict) -> str:
    """The row's note, with the model file of an offline job's manifest."""
    note, file = (values.get("note") or "").strip(), (values.get("file") or "").strip()
    return "; ".join(p for p in (note, f"file {file}" if file else "") if p)
