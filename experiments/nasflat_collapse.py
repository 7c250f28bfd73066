"""Which target samples sit on table entries that no lookup table explains, and what picking one costs NASFLAT.

    python experiments/nasflat_collapse.py --space fbnet --task 4 --samples 20 --seeds 40

Per target of the task (its test targets with a full table): each table row's robust z-score (median and MAD) of its
residual from the best additive table, one log-ms term per (position, operation) fitted on the target's whole table
by least squares, as in `nasflat_ceiling.py`. A row with z > --z (default 5) is an *odd entry*: a measurement glitch or
an interaction no table carries. For each seed, the oracle's target samples (its default sampler, `reference_archs`)
are checked for odd entries, and the seed's Spearman is read from the merged results table (the space's default
read-out, `nasflat_tasks.default_method`). The odd picks are also counted per half of the samples (the k-means half
and the second, design or cosine, half), for the default sampler and `--other-sampler`, beside what uniformly random
picks would take on average. Writes experiments/results/nasflat/collapse_<space>_t<task>_s<samples>.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasflat_ceiling import least_squares_fit  # noqa: E402
from nasflat_tasks import OUT, SPACES, default_method, plan  # noqa: E402

from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle  # noqa: E402
from hwnas.predictors.nasflat_train import standardised_design  # noqa: E402


def additive_z(space, target: str) -> tuple[np.ndarray, np.ndarray]:
    """(robust z-score of each row's log-ms residual from the whole-table additive fit, the fit's ms)."""
    log_ms = np.log(devices.latency_ms(space.name, target))
    fitted = least_squares_fit(space.encode(space.table_archs(), "onehot"), log_ms)
    residual = log_ms - fitted
    centred = residual - np.median(residual)
    return centred / (1.4826 * np.median(np.abs(centred))), np.exp(fitted)


def leverage_ratio(oracle: NasflatOracle) -> np.ndarray:
    """Each table row's leverage in the design the I-optimal half picks over (`sample_design`, standardised), over
    the classic high-leverage cut-off 2p/n (Belsley, Kuh & Welsch 1980): above 1, the row is an extreme of the design."""
    z = standardised_design(oracle.sample_design())
    leverage = np.einsum("ij,jk,ik->i", z, np.linalg.pinv(z.T @ z), z)
    return leverage / (2 * z.shape[1] / len(z))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=list(SPACES), default="fbnet")
    parser.add_argument("--task", type=int, default=4)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--z", type=float, default=5.0, help="robust z above which a table entry counts as odd")
    parser.add_argument("--other-sampler", default="kmeans_cosine",
                        help="a sampler whose odd picks are counted beside the default's (oracle.sampler)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    space = devices.search_space(SPACES[args.space])
    items = [i for i in plan(space, args.space) if i["task"] == args.task]
    if not items or not items[0]["covered"]:
        raise HwnasError(f"task {args.task} is not a covered {args.space} task")
    results = pd.read_csv(OUT / f"{args.space}.csv")
    method = default_method(args.space)
    command = (f"python experiments/nasflat_collapse.py --space {args.space} --task {args.task} --samples "
               f"{args.samples} --seeds {args.seeds} --z {args.z:g} --other-sampler {args.other_sampler}")
    lines = [f"# Odd table entries among NASFLAT's target samples, {args.space} task {args.task}, {args.samples} samples",
             "", f"Command: `{command}`. An odd entry: robust z > {args.z:g} from the target's whole-table additive "
             f"fit. Spearman: `{method}` in experiments/results/nasflat/{args.space}.csv.", "",
             "| target | odd entries in its table | seeds picking one | Spearman, those seeds | Spearman, the others | "
             f"odd picks, k-means half + second half: default sampler / {args.other_sampler} / random picks |",
             "|---|---|---|---|---|---|"]
    details = []
    for target in items[0]["targets"]:
        z, fitted_ms = additive_z(space, target)
        measured_ms = devices.latency_ms(space.name, target)
        rho = results[(results.task == args.task) & (results.device == target) & (results.samples == args.samples)
                      & (results.method == method)].set_index("seed").spearman
        hit, rest, leverage = [], [], None
        halves = {None: np.zeros(2, int), args.other_sampler: np.zeros(2, int)}
        for seed in range(args.seeds):
            for sampler, counts in halves.items():
                oracle = NasflatOracle(space, target, samples=args.samples, seed=seed, task=args.task, sampler=sampler)
                rows = np.asarray(space.table_index(oracle.reference_archs()))
                place = np.flatnonzero(z[rows] > args.z)
                counts += [(place < args.samples // 2).sum(), (place >= args.samples // 2).sum()]
                if sampler is None:
                    leverage = leverage_ratio(oracle) if leverage is None else leverage   # one design per target
                    (hit if place.size else rest).append(rho.get(seed, np.nan))
                    details += [f"| {target} | {seed} | {rows[i]} | {measured_ms[rows[i]]:.1f} | "
                                f"{fitted_ms[rows[i]]:.1f} | {z[rows[i]]:.1f} | {leverage[rows[i]]:.2f} | "
                                f"{'second' if i >= args.samples // 2 else 'k-means'} | {rho.get(seed, np.nan):.3f} |"
                                for i in place]
        random_half = args.seeds * args.samples / 2 * (z > args.z).mean()
        lines.append(f"| {target} | {int((z > args.z).sum())} of {len(z)} | {len(hit)} of {args.seeds} | "
                     f"{np.nanmean(hit) if hit else np.nan:.3f} | {np.nanmean(rest) if rest else np.nan:.3f} | "
                     + " / ".join(f"{a} + {b}" for a, b in halves.values()) + f" / {random_half:.1f} + {random_half:.1f} |")
    lines += ["", "Each pick of an odd entry by the default sampler:", "",
              "| target | seed | table row | measured ms | additive fit ms | z | leverage / (2p/n) | half | Spearman |",
              "|---|---|---|---|---|---|---|---|---|"] + details
    lines += ["", f"{time.perf_counter() - started:.0f} s wall."]
    out = OUT / f"collapse_{args.space}_t{args.task}_s{args.samples}.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    try:
        main()
    except HwnasError as exc:
        sys.exit(f"error: {exc}")
