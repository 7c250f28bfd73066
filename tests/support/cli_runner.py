"""Run the real `hwnas` command line in a subprocess (shared by the CLI, report and sweep tests)."""

from __future__ import annotations

import os
import subprocess
import sys


def hwnas(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwnas.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
