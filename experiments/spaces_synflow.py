"""SynFlow as FBNet's accuracy stand-in: how well it ranks NB201's known accuracies, and FBNet's 5,000 scores.

    nice -n 10 python experiments/spaces_synflow.py [--nb201 1000] [--skip-fbnet]

Writes experiments/results/spaces/synflow_nb201.json (Spearman / Kendall of log10 SynFlow and of the
parameter count against NB201's 200-epoch test accuracies, on a seeded random sample) and fills the
SynFlow cache for FBNet's 5,000 tabled architectures (so searches on them have ground truth at once),
with a copy of the scores in synflow_fbnet_table.csv.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from hwnas.evaluators.nb201_accuracy import DATASETS as NB201_DATASETS, nb201_accuracy
from hwnas.search_spaces import _help_data
from hwnas.search_spaces.nasbench201 import NB201_SIZE
from hwnas.measure.model_stats import parameter_count
from hwnas.evaluators.zero_cost import SynFlowProxy
from hwnas.search_spaces.fbnet import FBNet
from hwnas.search_spaces.nasbench201 import NasBench201

OUT = Path(__file__).resolve().parent / "results" / "spaces"


def nb201_ranking(n: int, seed: int) -> dict:
    space = NasBench201()
    proxy = SynFlowProxy(space, seed=0)
    rows = np.sort(np.random.default_rng(seed).choice(NB201_SIZE, size=n, replace=False))
    archs = space.table_archs()[rows]
    start = time.perf_counter()
    scores = proxy.accuracy(archs)
    seconds = time.perf_counter() - start
    params = np.array([parameter_count(space.build(tuple(int(v) for v in a))) for a in archs])
    proxy.save()
    result = {"n_archs": n, "sample_seed": seed, "synflow_seconds_per_arch": seconds / n, "datasets": {}}
    for dataset in NB201_DATASETS:
        accuracy = nb201_accuracy(dataset)[rows]
        result["datasets"][dataset] = {
            "synflow_spearman": float(spearmanr(scores, accuracy).statistic),
            "synflow_kendall": float(kendalltau(scores, accuracy).statistic),
            "params_spearman": float(spearmanr(params, accuracy).statistic),
            "params_kendall": float(kendalltau(params, accuracy).statistic),
        }
    return result


def fbnet_table() -> dict:
    space = FBNet()
    proxy = SynFlowProxy(space, seed=0)
    archs = space.table_archs()
    start = time.perf_counter()
    scores = proxy.accuracy(archs)
    seconds = time.perf_counter() - start
    proxy.save()
    pd.DataFrame({"index": np.arange(len(archs)), "arch": [space.to_string(tuple(a)) for a in archs],
                  "log10_synflow": scores}).to_csv(OUT / "synflow_fbnet_table.csv", index=False)
    latency = {d: float(spearmanr(scores, _help_data.help_latency("fbnet")[d]).statistic)
               for d in ("raspi4", "pixel3", "gold_6226", "titan_rtx_1")}
    return {"n_archs": len(archs), "seconds": seconds, "cache_file": str(proxy.cache_file),
            "log10_synflow_range": [float(scores.min()), float(scores.max())],
            "spearman_with_latency": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nb201", type=int, default=1000, help="NB201 archs sampled (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-fbnet", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.nb201:
        result = nb201_ranking(args.nb201, args.seed)
        (OUT / "synflow_nb201.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    if not args.skip_fbnet:
        result = fbnet_table()
        (OUT / "synflow_fbnet.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
