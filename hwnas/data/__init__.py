"""Read-only access to the measured data in `../shared/data` (or `$HWNAS_DATA_DIR`).

Generic, checked readers only: the plug-in that owns a file (a space, an evaluator) names and loads it
with these, so that a missing or corrupt file is a one-line error naming the file.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.core.errors import HwnasError

ENV_VAR = "HWNAS_DATA_DIR"


def _candidate_dirs() -> list[Path]:
    project_root = Path(__file__).resolve().parents[2]
    return [project_root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"]


@functools.lru_cache(maxsize=None)
def data_dir() -> Path:
    """The data folder: `$HWNAS_DATA_DIR` if set, else `../shared/data` beside the project."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not (path / "MANIFEST.md").is_file():
            raise HwnasError(f"{ENV_VAR}={env} does not hold the hwnas data (no MANIFEST.md there)")
        return path.resolve()
    looked = _candidate_dirs()
    for path in looked:
        if (path / "MANIFEST.md").is_file():
            return path.resolve()
    raise HwnasError(
        "data folder not found; looked in " + ", ".join(str(p) for p in looked)
        + f". Point {ENV_VAR} at the folder that holds MANIFEST.md"
    )


def data_file(relative: str | Path) -> Path:
    """The file at `relative` under the data folder (an absolute path is taken as it is); missing: an error."""
    path = data_dir() / relative
    if not path.is_file():
        raise HwnasError(f"data file missing: {path}")
    return path


def corrupt(relative: str | Path, why: str) -> HwnasError:
    """The one-line error for a data file that is there but wrong."""
    return HwnasError(f"corrupt data file {data_dir() / relative}: {why}")


def read_csv(relative: str | Path, **kwargs) -> pd.DataFrame:
    """A CSV (gzipped or not) under the data folder; unreadable: a one-line error naming it."""
    path = data_file(relative)
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


def read_json(relative: str | Path):
    """A JSON file (gzipped or not) under the data folder; unreadable: a one-line error naming it."""
    path = data_file(relative)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            return json.load(fh)
    except (OSError, EOFError, ValueError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


def read_lines(relative: str | Path) -> tuple[str, ...]:
    """The non-empty, stripped lines of a text file (gzipped or not) under the data folder."""
    path = data_file(relative)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            return tuple(line.strip() for line in fh if line.strip())
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


def latency_frame(relative: str | Path, index_col: str, expected_rows: int) -> pd.DataFrame:
    """A latency table (ms) with rows indexed 0..expected_rows-1 and only finite numbers, one column per device."""
    frame = read_csv(relative, index_col=index_col)
    if len(frame) != expected_rows or not np.array_equal(frame.index.to_numpy(), np.arange(expected_rows)):
        raise corrupt(relative, f"expected rows indexed 0..{expected_rows - 1}")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if not np.isfinite(values).all():
        raise corrupt(relative, "non-numeric latency values")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)
