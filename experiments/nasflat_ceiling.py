"""How close NASFLAT's transfer is to what its inputs allow: per target, the Spearman of the oracle (20 or 10
samples) beside three fits that see the target's *whole* table, so no sample-based method can beat them by much:

- `readout_ceiling`: the stacked read-out's own inputs (pre-trained score, fine-tuned score, kernel share, log
  FLOPs, source mix), non-negative ridge fitted on every row, per pre-training, averaged;
- `source_ceiling`: least squares of the target's log ms on every source's measured log ms;
- `additive_ceiling`: an additive table, one log-ms term per (position, operation), least squares on every row
  (a lookup-table model; measurement noise and interactions stay unexplained).

    python experiments/nasflat_ceiling.py --space fbnet --task 4 --samples 20 --seeds 5
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle, load_tasks  # noqa: E402
from hwnas.predictors.nasflat_train import ridge_fit  # noqa: E402

SPACES = {"fbnet": "fbnet", "nb201": "nasbench201"}
RESULTS = Path(__file__).resolve().parent / "results" / "nasflat"


def least_squares_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares fit of y on x plus an intercept, at every row."""
    design = np.column_stack([x, np.ones(len(y))])
    return design @ np.linalg.lstsq(design, y, rcond=None)[0]


def least_squares_spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearmanr(least_squares_fit(x, y), y).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=list(SPACES), default="fbnet")
    parser.add_argument("--task", type=int, default=4)
    parser.add_argument("--targets", default=None, 
                        help="comma-separated (default: the task's targets with a full table)")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tag", default="", help="suffix of the result file (a run on --targets should have one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    name = SPACES[args.space]
    space = devices.search_space(name)
    if args.seeds < 1 or args.samples < 3:
        parser.error(f"--seeds must be >= 1 and --samples >= 3, got {args.seeds} and {args.samples}")
    tasks = load_tasks()[args.space]
    if str(args.task) not in tasks:
        parser.error(f"task {args.task} out of range for {args.space}; valid: {', '.join(sorted(tasks, key=int))}")
    task = tasks[str(args.task)]
    targets = args.targets.split(",") if args.targets else [
        t for t in task["test"] if t in devices.tables(name) and np.isfinite(devices.latency_ms(name, t)).all()]
    sources = task["train"]
    source_log_ms = np.log(np.stack([devices.latency_ms(name, s) for s in sources], 1))
    table = space.encode(space.table_archs(), "onehot")
    rows = []
    for target in targets:
        truth = np.log(devices.latency_ms(name, target))
        oracle_rho, readout_rho = [], []
        for seed in range(args.seeds):
            oracle = NasflatOracle(space, target, samples=args.samples, seed=seed, task=args.task, source_mix=True,
                                   readout="stacked")
            refs = oracle.reference_archs()
            oracle.adapt(refs, np.exp(truth[np.asarray(space.table_index(refs))]))
            oracle_rho.append(spearmanr(np.log(oracle.table_ms_without_mix()), truth).statistic)
            readout_rho.append(np.mean([spearmanr(ridge_fit(m.table_features, truth, lam=1e-4)(m.table_features),
                                                  truth).statistic for m in oracle.members]))
        row = {"space": args.space, "task": args.task, "target": target, "samples": args.samples,
               "seeds": args.seeds, "nasflat": np.mean(oracle_rho), "readout_ceiling": np.mean(readout_rho),
               "source_ceiling": least_squares_spearman(source_log_ms, truth),
               "additive_ceiling": least_squares_spearman(table, truth)}
        rows.append(row)
        print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("nasflat", "readout_ceiling", "source_ceiling",
                                                               "additive_ceiling")}
    print("mean over targets: " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items()))
    out = RESULTS / f"ceiling_{args.space}_t{args.task}_s{args.samples}_seeds{args.seeds}{args.tag}.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except HwnasError as exc:
        sys.exit(f"error: {exc}")
