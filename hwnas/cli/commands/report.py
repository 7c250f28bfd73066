"""Tables and plots over sweep or run folders: hwnas report <folder> [<folder> ...]."""

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
    parser.add_argument("folders", nargs="+", help="sweep folders, run folders, or trees of them")
    parser.add_argument("--out", help="output folder (default: <first folder>/report)")
    args = parser.parse_args(argv)

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
