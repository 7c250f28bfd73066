"""What the CLI checks around a Hydra command: its output folder, failed sweep jobs, Ctrl-C."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from hwnas.core.errors import HwnasError
from hwnas.data.cache import writable_folder

FAILURES_ENV = "HWNAS_SWEEP_FAILURES"  # a folder where each failed sweep job leaves a file (any launcher)
FAILED_MARK = ".hwnas_failed"          # left in a failed job's own run folder (jobs on other machines too)
MULTIRUN_FLAGS = ("-m", "--multirun")


def _override(overrides: list[str], key: str) -> str | None:
    """The value of the last `key=value` (also `+key=`, `++key=`) among the overrides, else None."""
    values = [arg.partition("=")[2] for arg in overrides if "=" in arg and arg.partition("=")[0].lstrip("+") == key]
    return values[-1] if values else None


def output_folder(config_file: Path, overrides: list[str]) -> Path:
    """The part of the command's Hydra run (or sweep) folder known before composing: up to any `${...}`."""
    mode = "sweep" if any(a in MULTIRUN_FLAGS for a in overrides) else "run"
    value = _override(overrides, f"hydra.{mode}.dir")
    if value is None and config_file.is_file():
        import yaml

        value = ((yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}).get("hydra") or {}).get(mode, {})
        value = value.get("dir") if isinstance(value, dict) else None
    if not value:
        return Path(".")
    literal = str(value).split("${")[0]
    return Path(literal) if "${" not in str(value) or literal.endswith(("/", os.sep)) else Path(literal).parent


def check_output_folder(config_file: Path, overrides: list[str]) -> None:
    """Refuse (one line) a run folder that cannot be created or written, before Hydra tries and tracebacks."""
    if any(a.startswith("-") and a not in MULTIRUN_FLAGS for a in overrides):
        return  # Hydra's own flags (--cfg, --info, ...) print and write no run folder
    mode = "hydra.sweep.dir" if any(a in MULTIRUN_FLAGS for a in overrides) else "hydra.run.dir"
    writable_folder(output_folder(config_file, overrides), f"output folder ({mode})")


HYDRA_FILES = (".hydra",)   # with the job's `<name>.log`: what Hydra writes into a run folder before the command


def untouched(run_dir: Path) -> bool:
    """True when the run folder holds nothing but what Hydra wrote for this command (it is new, or empty)."""
    return all(p.name in HYDRA_FILES or p.suffix == ".log" for p in _entries(run_dir))


def discard_refused_run(run_dir: Path, was_untouched: bool) -> None:
    """After a refusal, remove a run folder this command created that holds nothing of a run: Hydra's
    files, and at most the config snapshot of a search refused before its first trial."""
    from hwnas.engine.resume import JOURNAL, SNAPSHOT

    journal = run_dir / JOURNAL
    if not was_untouched or (journal.exists() and journal.stat().st_size):
        return
    leftovers = [p for p in _entries(run_dir) if p.name not in (*HYDRA_FILES, SNAPSHOT, JOURNAL) and p.suffix != ".log"]
    if not leftovers:
        shutil.rmtree(run_dir, ignore_errors=True)


def _entries(folder: Path) -> list[Path]:
    try:
        return list(Path(folder).iterdir())
    except OSError:
        return []


def resume_hint(command: str, overrides: list[str], run_dir: Path) -> str:
    """The command that resumes an interrupted run in `run_dir`."""
    kept = [a for a in overrides if _override([a], "hydra.run.dir") is None and _override([a], "resume") is None]
    return " ".join(shlex.quote(a) for a in ["hwnas", command, *kept, f"hydra.run.dir={run_dir}", "resume=true"])


class SweepFailures:
    """Failed sweep jobs, so the sweep can exit non-zero after every job ran: recorded in a temporary folder
    named by `$HWNAS_SWEEP_FAILURES` (jobs of any launcher on this machine inherit it), and as a mark in the
    job's run folder under `root` (the sweep folder; a job on another machine, e.g. a Ray node writing to a
    shared folder, does not see this machine's temporary folder). Marks older than the sweep are not counted."""

    def __init__(self, root: Path | None = None):
        # the current folder itself is not a sweep folder: scanning it could walk a whole home directory
        self.root = Path(root) if root is not None and Path(root) != Path(".") else None

    def __enter__(self) -> "SweepFailures":
        self.started = time.time() - 1.0
        self.folder = Path(tempfile.mkdtemp(prefix="hwnas-sweep-"))
        self._before = os.environ.get(FAILURES_ENV)
        os.environ[FAILURES_ENV] = str(self.folder)
        return self

    def failed_jobs(self) -> list[int]:
        jobs = {int(p.name) for p in self.folder.iterdir() if p.name.isdigit()}
        if self.root is not None and self.root.is_dir():
            for mark in self.root.rglob(FAILED_MARK):
                try:
                    if mark.stat().st_mtime >= self.started:
                        jobs.add(int(mark.read_text(encoding="utf-8").split(maxsplit=1)[0]))
                except (OSError, ValueError, IndexError):
                    continue  # a mark being written or removed: the local record covers this machine's jobs
        return sorted(jobs)

    def __exit__(self, *exc) -> None:
        if self._before is None:
            os.environ.pop(FAILURES_ENV, None)
        else:
            os.environ[FAILURES_ENV] = self._before
        shutil.rmtree(self.folder, ignore_errors=True)


def record_failed_job(job: int, message: str, run_dir: Path | None = None) -> None:
    """Leave the failed job's one-line reason for the sweep's parent process (and in its run folder)."""
    folder = os.environ.get(FAILURES_ENV)
    if folder and Path(folder).is_dir():
        (Path(folder) / str(int(job))).write_text(message, encoding="utf-8")
    if run_dir is not None:
        try:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            (Path(run_dir) / FAILED_MARK).write_text(f"{int(job)} {message}\n", encoding="utf-8")
        except OSError:
            pass  # an unwritable run folder: the job already printed its failure


def clear_failed_mark(run_dir: Path) -> None:
    """A job that succeeds in a folder where an earlier attempt failed is no longer a failure."""
    try:
        (Path(run_dir) / FAILED_MARK).unlink(missing_ok=True)
    except OSError:
        pass


def one_line(exc: BaseException) -> str:
    """An error in one line: the message of an HwnasError, else the type and message."""
    text = " ".join(str(exc).split()) if isinstance(exc, HwnasError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())
