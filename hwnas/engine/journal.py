"""An append-only JSON-lines journal: one line per finished trial, flushed per batch.

A kill mid-write leaves at most one partial last line; reading skips it with a warning and keeps
every complete record before it, and appending after it first cuts the partial line off, so a
resumed run never glues a new record onto a broken one.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import IO


class Journal:
    def __init__(self, path: str | Path, *, fsync: bool = False):
        self.path = Path(path)
        self.fsync = fsync  # flush survives kill -9; fsync also survives a power cut, at a cost per batch
        self._fh: IO[str] | None = None

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._cut_partial_tail()
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self) -> list[dict]:
        """Every complete record; corrupt or truncated lines are skipped with a warning."""
        if not self.path.exists():
            return []
        records = []
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}:{number}: skipped a corrupt or truncated journal line",
                                  stacklevel=2)
                    continue
                if isinstance(record, dict):
                    records.append(record)
                else:
                    warnings.warn(f"{self.path}:{number}: skipped a journal line that is not a record",
                                  stacklevel=2)
        return records

    def _cut_partial_tail(self) -> None:
        """Drop a last line without its newline (a write cut by a kill): it is not a finished record."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
            size = fh.seek(0, os.SEEK_END)
            keep = size
            while keep > 0:
                step = min(65536, keep)
                fh.seek(keep - step)
                chunk = fh.read(step)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    keep = keep - step + newline + 1
                    break
                keep -= step
            warnings.warn(f"{self.path}: cut off a truncated last line ({size - keep} bytes) before appending",
                          stacklevel=3)
            fh.truncate(keep)
