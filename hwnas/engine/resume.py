"""Run folders that survive a kill: a config snapshot, the journal, and the checks before resuming.

A fresh search refuses a folder that already holds one; `resume=true` continues it only when the
new config equals the snapshot (keys that do not change the search, like `progress`, excepted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hwnas.core.errors import HwnasError
from hwnas.engine.journal import Journal

SNAPSHOT = "run_config.json"
JOURNAL = "trials.jsonl"
IGNORED_KEYS = ("resume", "progress")   # they change how a run is shown or started, not what it computes
# Keys every journal record holds (hwnas.engine.loop writes them); a resumed record is used verbatim.
RECORD_KEYS = ("trial", "batch", "evaluations", "arch", "accuracy", "latency_ms", "violation_ms", "feasible",
               "new", "screened", "best_feasible_accuracy", "oracle_queries", "target_measurements", "wall_s")


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as {dotted.key: value}."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: node}


def differing_keys(old: dict, new: dict, added_defaults: dict | None = None) -> list[str]:
    """Dotted keys whose values differ (or exist on one side only), ignoring IGNORED_KEYS and options the
    old run predates (absent from it) that are at their default in `added_defaults` ({top-level key: default})."""
    a, b, added = flatten(old), flatten(new), added_defaults or {}
    return sorted(k for k in set(a) | set(b) if k.split(".")[0] not in IGNORED_KEYS
                  and a.get(k, "<absent>") != b.get(k, "<absent>")
                  and not (k not in a and k in added and b.get(k) == added[k]))


def prepare(run_dir: Path, config: dict, resume: bool, added_defaults: dict | None = None) -> list[dict]:
    """Check the run folder and return the journal's records to resume from (none for a fresh run).
    `added_defaults`: top-level options with their defaults; one a run predates, left at its default, is no
    difference (a run from an older hwnas resumes unless the new option is set)."""
    run_dir = Path(run_dir)
    snapshot, journal = run_dir / SNAPSHOT, run_dir / JOURNAL
    config = json.loads(json.dumps(config, default=str))  # as it will read back
    if not resume:
        if snapshot.exists() or (journal.exists() and journal.stat().st_size):
            raise HwnasError(f"run folder {run_dir} already holds a search; pass resume=true to continue it, "
                             "or choose another hydra.run.dir")
        _write_snapshot(snapshot, config)
        return []
    if not snapshot.exists():
        if journal.exists() and journal.stat().st_size:
            raise HwnasError(f"cannot resume {run_dir}: it has a journal but no {SNAPSHOT} to check the config against")
        _write_snapshot(snapshot, config)  # nothing was recorded yet: start from the beginning
        return []
    try:
        old = json.loads(snapshot.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise HwnasError(f"cannot resume {run_dir}: corrupt {SNAPSHOT} ({exc})") from None
    diff = differing_keys(old, config, added_defaults)
    if diff:
        a, b = flatten(old), flatten(config)
        shown = "; ".join(f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}" for k in diff[:8])
        more = f" (and {len(diff) - 8} more)" if len(diff) > 8 else ""
        raise HwnasError(f"cannot resume {run_dir}: the config differs from the interrupted run in "
                         f"{', '.join(diff)}{more} ({shown}); use the same overrides, or a new hydra.run.dir")
    return check_records(Journal(journal).read(), journal)


def check_records(records: list[dict], path: Path) -> list[dict]:
    """The journal's records, each holding every RECORD_KEYS key with a usable trial number and arch."""
    for number, record in enumerate(records, 1):
        missing = [key for key in RECORD_KEYS if key not in record]
        if missing:
            raise HwnasError(f"cannot resume from {path}: record {number} lacks {', '.join(missing)} (an edited or "
                             "foreign journal); restore it, or start afresh in a new hydra.run.dir")
        if not isinstance(record["trial"], int) or not isinstance(record["arch"], str):
            raise HwnasError(f"cannot resume from {path}: record {number} has a trial {record['trial']!r} or arch "
                             f"{record['arch']!r} of the wrong type; restore it, or start afresh in a new hydra.run.dir")
    return records


def _write_snapshot(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a kill leaves the old snapshot or the new one, never half of one
