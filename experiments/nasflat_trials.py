"""How far a three-trial mean, the paper's protocol, moves: the default read-out's merged task table per seed, and
its means over disjoint groups of `--trials` consecutive seeds against the paper's NASFLAT number.

    python experiments/nasflat_trials.py --space fbnet --samples 20 --trials 3

The authors' README runs its FBNet transfers with `--num_trials 3` (NB201: 5 or 7) and reports the mean, so a paper
figure carries the spread of a mean over three transfers; this reads that spread off hwnas's own seeds. Reads
experiments/results/nasflat/<space>.csv (nasflat_tasks.py --merge); runs nothing. Issue 15's targets are FBNet tasks 0-5
and NB201 task 0; a task some of whose paper targets hwnas lacks is marked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hwnas.data import devices  # noqa: E402
from nasflat_tasks import OUT, PAPER, SPACES, default_method, plan  # noqa: E402


def trial_means(per_seed: pd.Series, trials: int) -> np.ndarray:
    """Means of disjoint groups of `trials` consecutive seeds (a trailing partial group is dropped)."""
    values = per_seed.sort_index().to_numpy()
    groups = len(values) // trials
    return values[:groups * trials].reshape(groups, trials).mean(axis=1)


def report(frame: pd.DataFrame, space_key: str, samples: int, trials: int) -> str:
    method = default_method(space_key)
    part = frame[(frame.method == method) & (frame.samples == samples)]
    if part.empty:
        raise SystemExit(f"error: no {method} rows at {samples} samples in the merged {space_key} table")
    partial = {item["task"] for item in plan(devices.search_space(SPACES[space_key]), space_key) if item["notes"]}
    lines = [f"| {space_key} task, {method}, {samples} samples | seeds | mean ± std over seeds | "
             f"means of {trials} seeds: min / median / max | reaching the paper | paper NASFLAT |",
             "|---|---|---|---|---|---|"]
    for task, rows in part.groupby("task", sort=True):
        per_seed = rows.groupby("seed")["spearman"].mean()
        groups = trial_means(per_seed, trials)
        paper = PAPER[space_key]["NASFLAT"][task]
        spread = (f"{groups.min():.3f} / {np.median(groups):.3f} / {groups.max():.3f}" if len(groups) else "—")
        lines.append(f"| {task} | {len(per_seed)} | {per_seed.mean():.4f} ± {per_seed.std(ddof=1):.4f} | {spread} | "
                     f"{int((groups >= paper).sum())} of {len(groups)} | {paper}"
                     + (" (over targets hwnas lacks: not comparable)" if task in partial else "") + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=sorted(PAPER), default="fbnet")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3, help="seeds per mean (the paper's num_trials: 3)")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    path = OUT / f"{args.space}.csv"
    if not path.is_file():
        parser.error(f"no merged table {path}: run nasflat_tasks.py --space {args.space} --merge first")
    print(report(pd.read_csv(path), args.space, args.samples, args.trials))


if __name__ == "__main__":
    main()
