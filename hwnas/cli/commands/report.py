"""Tables and plots over sweep or run folders: hwnas report <folder> [<folder> ...]; or a summary of an Optuna
study shared by several workers: hwnas report --study sqlite:///shared.db."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hwnas.core.errors import HwnasError
from hwnas.data.cache import writable_folder


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="hwnas report",
        description="Read every search run under the folders and write report/ (report.csv, report.md, "
                    "PNG plots) under the first folder.")
    parser.add_argument("folders", nargs="*", help="sweep folders, run folders, or trees of them")
    parser.add_argument("--out", help="output folder (default: <first folder>/report; with --study: print only)")
    parser.add_argument("--study", metavar="STORAGE", help="summarise the Optuna study in this storage URL, shared "
                        "by several workers (strategy.storage=...): per-worker counts, duplicates, best pick")
    parser.add_argument("--study-name", help="the study's name when the storage holds several")
    args = parser.parse_args(argv)
    if args.study:
        return _report_study(args)
    if not args.folders:
        parser.error("give sweep or run folders, or --study STORAGE")

    from hwnas.report.plots import write_plots
    from hwnas.report.runs import load_runs
    from hwnas.report.tables import format_number, write_tables

    started = time.perf_counter()
    first = Path(args.folders[0])
    if not first.is_dir():
        raise HwnasError(f"{first} is not a folder (give sweep or run folders)")
    runs = load_runs(args.folders)
    out_dir = writable_folder(Path(args.out) if args.out else first / "report", "report folder")
    plots = write_plots(runs, out_dir)
    summary = write_tables(runs, out_dir, plots)
    for problem in runs.problems:
        print(f"hwnas report: warning: {problem}", file=sys.stderr)
    print(summary.to_string(index=False, formatters={c: format_number for c in summary.columns}))
    print(f"\n{len(runs.table)} runs -> {out_dir} (report.csv, report.md, {len(plots)} plots) "
          f"in {time.perf_counter() - started:.1f} s")


def _report_study(args) -> None:
    import json

    from hwnas.report.study import format_study, load_study_trials, summarize_study

    if args.folders:
        raise HwnasError("give either run folders or --study, not both")
    name, rows = load_study_trials(args.study, args.study_name)
    summary = summarize_study(rows)
    text = format_study(name, summary)
    if args.out:
        out_dir = writable_folder(Path(args.out), "report folder")
        (out_dir / "study.md").write_text(text)
        (out_dir / "study.json").write_text(json.dumps({"study": name, **summary}, indent=1) + "\n")
        text += f"\n-> {out_dir} (study.md, study.json)\n"
    print(text, end="")
