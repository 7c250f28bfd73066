"""The cache folder (`$HWNAS_CACHE_DIR`, else `~/.cache/hwnas`) and atomic writes of cache files.

Every cache file (HELP weights, operator tables, SynFlow scores, ensemble selections) is written to a
temporary file with a unique name beside it and renamed over it, so concurrent writers never collide
and a reader sees the old or the new file, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Callable

from hwnas.core.errors import HwnasError

ENV_VAR = "HWNAS_CACHE_DIR"


def cache_dir() -> Path:
    """`$HWNAS_CACHE_DIR`, else `~/.cache/hwnas` (it may not exist yet); a path that is a file: an error."""
    env = os.environ.get(ENV_VAR)
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "hwnas"
    return check_folder(path, f"{ENV_VAR}={env}" if env else "the cache folder")


def check_folder(path: Path, what: str) -> Path:
    """`path` unless it, or the nearest existing folder above it, is not a folder (then a one-line error)."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise HwnasError(f"{what}: {existing} is a file, not a folder; point it at a folder")
    return path


def writable_folder(path: Path, what: str = "cache folder") -> Path:
    """Create `path` if needed; a folder that cannot be created or written is a one-line error."""
    check_folder(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HwnasError(f"cannot create the {what} {path}: {exc.strerror or exc}") from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise HwnasError(f"cannot write to the {what} {path}: {exc.strerror or exc}") from None
    return path


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Have `write(tmp)` fill a uniquely named temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    writable_folder(path.parent)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"  # unique across threads too
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, value, **dumps) -> Path:
    """Write `value` as JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(value, **dumps))


def keyed_path(folder: str, key: dict, suffix: str = ".pt") -> Path:
    """`<cache>/<folder>/<space>-<digest of key><suffix>`: one file per key (a predictor's trained weights)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return cache_dir() / folder / f"{key.get('space', 'any')}-{digest}{suffix}"


def load_keyed(path: Path, key: dict, what: str, fix: str) -> dict | None:
    """The torch file at `path` if it was written for `key`; None if absent; a one-line error naming the
    file and the differing key entries if unreadable or written for another key (copied in, other version)."""
    import torch

    if not path.is_file():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a corrupt cache
        raise HwnasError(f"corrupt {what} {path}: {type(exc).__name__}; {fix}") from None
    if not isinstance(entry, dict) or entry.get("key") != key:
        stored = entry.get("key", {}) if isinstance(entry, dict) else {}
        differs = [k for k in key if stored.get(k) != key[k]] if isinstance(stored, dict) else ["format"]
        raise HwnasError(f"{what} {path} was written for a different {', '.join(differs) or 'key'}; {fix}")
    return entry


def save_keyed(path: Path, key: dict, entry: dict) -> Path:
    """Write `entry` with its `key` as a torch file at `path`, atomically."""
    import torch

    return atomic_write(path, lambda tmp: torch.save({**entry, "key": key}, tmp))
