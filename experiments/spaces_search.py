"""Latency-constrained searches on OFA-MobileNetV3 and FBNet, as `hwnas search` runs them.

    nice -n 10 python experiments/spaces_search.py [--seeds 0 1 2] [--max-evals 500]

OFA: titan_rtx_64 at HELP's budgets 20 / 23 / 28 ms, OFA's accuracy predictor as evaluator, compared
with HELP's published picks scored by the same predictor. Oracle `help` where conf/oracle/help.yaml
exists, else `lut` on the 5,000 tabled subnets. FBNet: raspi4 and pixel3 on the 5,000 tabled archs
with the SynFlow PROXY (ground truth and regret exact on that set). Writes
experiments/results/spaces/search_{ofa,fbnet}.csv.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas import data

from hwnas.data import devices
from hwnas.config import conf_dir, instantiate
from hwnas.engine.session import Session
from hwnas.engine.results import best_summary, ground_truth
from hwnas.engine.loop import run_search
from hwnas.core.subspace import TableSubspace

OUT = Path(__file__).resolve().parent / "results" / "spaces"
HELP_PICKS = {20: "latency_20.3ms_accuracy_76.0.json", 23: "latency_23.1ms_accuracy_76.8.json",
              28: "latency_28.6ms_accuracy_77.9.json"}


def search(overrides: list[str]) -> dict:
    """One `hwnas search` run (no run folder), restricted to the table when the oracle is a table."""
    start = time.perf_counter()
    parts = Session.compose("search", overrides)
    cfg = parts.cfg
    space = parts.space
    if cfg.get("restrict_to_table") and not space.exhaustively_tabled:
        # predictors/lut.py reports no coverage when the device has all 5,000 rows; restrict here as
        # the Session would (see docs/spaces.md, "needed change").
        space = TableSubspace(space, devices.coverage(space.name, str(cfg.device)))
    budget = float(cfg.budget_ms)
    strategy = instantiate(cfg.strategy, "strategy", space=space, budget_ms=budget, seed=int(cfg.seed))
    result = run_search(space, strategy, parts.oracle, parts.evaluator, budget, int(cfg.max_evals), parts.ledger,
                        true_latency_ms=parts.true_latency_ms, screen=False)
    best = best_summary(space, result.best, budget)
    truth = ground_truth(space, parts.evaluator, parts.true_latency_ms, budget) or {}
    return {"space": space.name, "device": str(cfg.device), "oracle": parts.oracle.name, "budget_ms": budget,
            "seed": int(cfg.seed), "evaluator": parts.evaluator.metric, "is_proxy": parts.evaluator.is_proxy,
            "found_arch": best["arch"], "found_data_form": json.dumps(best["data_form"]),
            "found_score": best["accuracy"], "found_latency_ms": best["latency_ms"],
            "latency_source": best["latency_source"], "feasible": best["feasible"],
            "optimum_score": truth.get("optimum_accuracy"), "optimum_latency_ms": truth.get("optimum_latency_ms"),
            "regret": (truth["optimum_accuracy"] - best["accuracy"]) if truth.get("optimum_accuracy") else None,
            "n_feasible_in_table": truth.get("n_feasible"), "evaluations": parts.ledger.evaluations,
            "strategy": str(cfg.strategy._target_).rsplit(".", 1)[-1], "stop_reason": result.stop_reason,
            "seconds": time.perf_counter() - start}


def ofa(seeds: list[int], max_evals: int) -> pd.DataFrame:
    from hwnas.evaluators.ofa_accuracy import OfaAccuracyPredictor
    from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3

    has_help = (conf_dir() / "oracle" / "help.yaml").is_file()
    oracle = ["oracle=help"] if has_help else ["oracle=lut", "restrict_to_table=true"]
    space = OfaMobileNetV3()
    predictor = OfaAccuracyPredictor(space)
    folder = data.data_dir() / "help" / "ofa" / "architecture_config" / "gpu_titan_rtx_64"
    rows = []
    for budget, name in HELP_PICKS.items():
        pick = space.from_data_form(json.loads((folder / name).read_text()))
        for strategy, seed in [(s, seed) for s in ("evolution", "random") for seed in seeds]:
            row = search(["space=ofa_mbv3", "device=titan_rtx_64", f"budget_ms={budget}", f"seed={seed}",
                          f"max_evals={max_evals}", f"strategy={strategy}", *oracle])
            row["help_pick_predicted_top1"] = float(predictor.accuracy([pick])[0])
            row["help_pick_published_ms"] = float(name.split("_")[1][:-2])
            row["beats_help_pick"] = row["found_score"] >= row["help_pick_predicted_top1"] and row["feasible"]
            rows.append(row)
            print({k: row[k] for k in ("budget_ms", "strategy", "seed", "stop_reason", "found_score", "found_latency_ms", "optimum_score",
                                       "help_pick_predicted_top1", "beats_help_pick")}, flush=True)
    return pd.DataFrame(rows)


def fbnet(seeds: list[int], max_evals: int) -> pd.DataFrame:
    rows = []
    for device in ("raspi4", "pixel3"):
        latency = devices.latency_ms("fbnet", device)
        for quantile in (0.25, 0.5):
            budget = round(float(np.quantile(latency, quantile)), 2)
            for strategy in ("evolution", "random"):
                for seed in seeds:
                    row = search(["space=fbnet", f"device={device}", f"budget_ms={budget}", f"seed={seed}",
                                  f"max_evals={max_evals}", f"strategy={strategy}", "oracle=lut",
                                  "restrict_to_table=true"])
                    row["budget_quantile"] = quantile
                    rows.append(row)
                    print({k: row[k] for k in ("device", "budget_ms", "strategy", "seed", "found_score",
                                               "optimum_score", "regret")}, flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-evals", type=int, default=500)
    parser.add_argument("--only", choices=("ofa", "fbnet"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "ofa"):
        ofa(args.seeds, args.max_evals).to_csv(OUT / "search_ofa.csv", index=False)
    if args.only in (None, "fbnet"):
        fbnet(args.seeds, args.max_evals).to_csv(OUT / "search_fbnet.csv", index=False)


if __name__ == "__main__":
    main()
