"""An append-only JSON-lines journal: one line per finished trial, flushed per batch.

A kill mid-write leaves at most one partial last line; reading skips it with a warning and keeps
every complete record before it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import IO


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fh: IO[str] | None = None

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        self._fh.flush()  # reaches the OS: survives kill -9 (not a power cut, which fsync would cover)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

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
                    warnings.warn(f"{self.path}:{number}: skipped a corrupt or truncated journal line")
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records
