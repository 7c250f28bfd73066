"""How well each rule for choosing the source device(s) from a few target samples ranks the whole target table.

    python experiments/nasflat_source_choice.py --seeds 10

No network: for every covered task (FBNet 0-5, NB201 0, 2, 5), target, sample count and seed, the target samples
are NASFLAT's (`select_samples`, as `oracle=nasflat` picks them) and each rule's choice is scored by the Spearman
of the chosen source table (a pool: its mean rank) with the target over every measured architecture. Rules:
`spearman` (the paper's single best source by Spearman on the samples), `pearson_log` (single best by Pearson of
log latencies), `pooled` (`nasflat_train.pooled_sources`: the one-standard-error pool on Pearson of log
latencies), `best_possible` (the source that ranks the whole table best: a bound no rule can see).
Writes experiments/results/nasflat/source_choice.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nasflat_tasks import OUT, SPACES, plan  # noqa: E402

from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat_train import best_source, pooled_sources, select_samples  # noqa: E402

TASKS = {"fbnet": range(6), "nb201": (0, 2, 5)}


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic)


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--samples", default="5,10,20")
    args = parser.parse_args(argv)
    rows = []
    for space_key, tasks in TASKS.items():
        space = devices.search_space(SPACES[space_key])
        archs = np.asarray(space.table_archs())
        for item in plan(space, space_key):
            if not item["covered"] or item["task"] not in tasks:
                continue
            tables = np.stack([devices.latency_ms(space.name, s) for s in item["sources"]])
            for device in item["targets"]:
                truth = devices.latency_ms(space.name, device)
                measured = np.isfinite(truth)
                candidates = np.flatnonzero(measured)
                encodings = space.encode(archs[candidates], "onehot")
                whole = np.array([rho(t[measured], truth[measured]) for t in tables])
                for n in (int(s) for s in args.samples.split(",")):
                    for seed in range(args.seeds):
                        picks = candidates[select_samples(encodings, n, seed)]
                        y, part = truth[picks], tables[:, picks]
                        pearson = [np.corrcoef(np.log(p), np.log(y))[0, 1] for p in part]
                        pool, _ = pooled_sources(part, y)
                        pool_rank = np.mean([rankdata(tables[i]) for i in pool], 0)
                        for rule, value in (("spearman", whole[best_source(part, y)[0]]),
                                            ("pearson_log", whole[int(np.nanargmax(pearson))]),
                                            ("pooled", rho(pool_rank[measured], truth[measured])),
                                            ("best_possible", whole.max())):
                            rows.append({"space": space_key, "task": item["task"], "samples": n, "rule": rule,
                                         "seed": seed, "device": device, "spearman": value})
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(index=["space", "task", "samples"], columns="rule", values="spearman").round(3)
    table = table[["spearman", "pearson_log", "pooled", "best_possible"]].reset_index()
    command = "python experiments/nasflat_source_choice.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"# Choosing the source device(s) from a few target samples\n\n`{command.strip()}`: Spearman of the "
            f"chosen source table (a pool: its mean rank) with the whole target table; mean over targets and "
            f"{args.seeds} seeds of NASFLAT's sampler.\n\n" + markdown(table) + "\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "source_choice.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
