"""The README's main job (NB201, lut, pixel3, budget 6.5 ms, 500 evaluations) over many seeds: how often
does a strategy (with optional overrides) land within 0.2 accuracy points of the true constrained optimum?

    python experiments/first_run.py --variant evolution --seeds 0-19
    python experiments/first_run.py --variant tpe --seeds 0-19 -- strategy=tpe
    python experiments/first_run.py --variant evolution_p50_t25 --seeds 0-19 -- strategy.population_size=50

Each run is one row of results/first_run/runs.csv (variant, seed, regret, oracle queries, seconds); summary.md
is rebuilt from every row: hits (regret <= 0.2), median and mean regret, mean oracle queries per variant.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from hwnas.engine.session import Session

OUT = Path(__file__).resolve().parent / "results" / "first_run"
JOB = ["space=nasbench201", "strategy=evolution", "oracle=lut", "device=pixel3", "budget_ms=6.5", "max_evals=500",
       "progress=false"]


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last) + 1)) if last else [int(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", required=True, help="name of this row group in the results")
    parser.add_argument("--seeds", default="0-19", help="a range 0-19 or a list 0,1,2")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides after the README's job (after --)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in seeds(args.seeds):
        started = time.perf_counter()
        summary = Session.compose("search", JOB + [f"seed={seed}"] + args.overrides).search()
        rows.append({"variant": args.variant, "overrides": " ".join(args.overrides), "seed": seed,
                     "regret": summary["ground_truth"]["regret"], "oracle_queries": summary["cost"]["oracle_queries"],
                     "seconds": round(time.perf_counter() - started, 2)})
        print(rows[-1], flush=True)
    path = OUT / "runs.csv"
    runs = pd.concat([pd.read_csv(path, keep_default_na=False), pd.DataFrame(rows)]) if path.is_file() else pd.DataFrame(rows)
    runs = runs.drop_duplicates(["variant", "seed"], keep="last").reset_index(drop=True)
    runs["oracle_queries"] = pd.to_numeric(runs["oracle_queries"], errors="coerce")   # older rows have none
    runs.to_csv(path, index=False)
    table = runs.groupby(["variant", "overrides"]).agg(
        seeds=("seed", "size"), hits=("regret", lambda r: int((r <= 0.2).sum())),
        hits_seeds_0_4=("regret", lambda r: int((r[runs.loc[r.index, "seed"] <= 4] <= 0.2).sum())),
        median_regret=("regret", "median"), mean_regret=("regret", "mean"), oracle_queries=("oracle_queries", "mean"))
    (OUT / "summary.md").write_text("hits: runs within 0.2 points of the optimum (regret <= 0.2)\n\n```\n"
                                    + table.round(3).to_string() + "\n```\n")
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
