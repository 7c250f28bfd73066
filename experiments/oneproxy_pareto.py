"""Pareto reuse (Lu et al. 2021): the proxy's Pareto set (accuracy vs proxy latency), evaluated on
every target: share of the target's true front recovered, and accuracy lost at latency budgets,
next to the oneproxy oracle (10 probes): the Pareto set of its adapted predictions (`adapted`,
measured on the target) and its single best pick under the budget without measuring (`oneproxy_oracle`),
and a per-target search (evolution on the target's table, mean over seeds).

Proxy sets: `table` (exhaustive over the proxy's 15,625-row table) and `search` (the Pareto subset
of everything regularized evolution evaluated on the proxy at 5 budgets, 300 evaluations each).
Budgets per target: the 10/25/50/75 % quantiles of its latency over the whole space.

    python experiments/oneproxy_pareto.py [--proxy pixel3] [--evals 300] [--seeds 3]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.evaluators.nb201_accuracy import nb201_accuracy
from hwnas.search_spaces import _help_data
from hwnas.search_spaces.nasbench201 import NB201_SIZE

from hwnas.data import devices
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import run_search
from hwnas.predictors.lut import LookupTable
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy
from hwnas.predictors.oneproxy import OneProxy
from hwnas.search_spaces.nasbench201 import NasBench201
from hwnas.strategies.evolution import RegularizedEvolution

HELP_TEST = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")
QUANTILES = (0.10, 0.25, 0.50, 0.75)
OUT = Path(__file__).resolve().parent / "results" / "oneproxy"


def pareto_rows(accuracy: np.ndarray, latency_ms: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows not dominated in (higher accuracy, lower latency); one of each exact duplicate."""
    order = rows[np.lexsort((-accuracy[rows], latency_ms[rows]))]
    best_before = np.maximum.accumulate(np.r_[-np.inf, accuracy[order][:-1]])
    return np.sort(order[accuracy[order] > best_before])


def best_under(accuracy, latency_ms, rows, budget_ms) -> float:
    ok = rows[latency_ms[rows] <= budget_ms]
    return float(accuracy[ok].max()) if ok.size else np.nan


def evolution_rows(space, oracle, evaluator, budget_ms, evals, seed) -> np.ndarray:
    result = run_search(space, RegularizedEvolution(space, budget_ms, seed=seed), oracle, evaluator,
                        budget_ms, evals, CostLedger(), screen=False)
    return np.unique(space.index([space.from_string(r["arch"]) for r in result.records]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", default="pixel3")
    parser.add_argument("--evals", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("hwnas.predictors.oneproxy").setLevel(logging.ERROR)
    start = time.perf_counter()
    space, everything = NasBench201(), np.arange(NB201_SIZE)
    evaluator = NasBench201Accuracy(space)
    accuracy = nb201_accuracy("cifar10")
    proxy_ms = devices.latency_ms(space.name, args.proxy)
    proxy_oracle = LookupTable(space, args.proxy)
    searched = np.unique(np.concatenate([
        evolution_rows(space, proxy_oracle, evaluator, float(np.quantile(proxy_ms, q)), args.evals, 0)
        for q in (0.1, 0.25, 0.5, 0.75, 0.9)]))
    proxy_sets = {"table": pareto_rows(accuracy, proxy_ms, everything),
                  "search": pareto_rows(accuracy, proxy_ms, searched)}
    print(f"proxy {args.proxy}: Pareto set of {len(proxy_sets['table'])} archs from the table, "
          f"{len(proxy_sets['search'])} from {len(searched)} archs evolution evaluated")
    table = np.asarray(space.table_archs())
    targets = [d for d in _help_data.nb201_help_latency().columns if d != args.proxy]
    front_rows, budget_rows = [], []
    for device in targets:
        truth = devices.latency_ms(space.name, device)
        front = pareto_rows(accuracy, truth, everything)
        row = {"device": device, "kind": devices.device_kind(device), "meta_test": device in HELP_TEST,
               "true_front": len(front)}
        for name, rows in proxy_sets.items():
            row[f"{name}_recovered"] = len(np.intersect1d(rows, front)) / len(front)
            row[f"{name}_set_size"] = len(rows)
        oracle = OneProxy(space, device, proxy=args.proxy, samples=10, seed=0)
        probes = oracle.reference_archs()
        oracle.adapt(probes, truth[space.index(probes)])
        predicted = oracle.predict_ms(table)
        adapted_set = pareto_rows(accuracy, predicted, everything)
        row["adapted_recovered"] = len(np.intersect1d(adapted_set, front)) / len(front)
        row["adapted_set_size"] = len(adapted_set)
        front_rows.append(row)
        lut = LookupTable(space, device)
        for q in QUANTILES:
            budget = float(np.quantile(truth, q))
            optimum = best_under(accuracy, truth, everything, budget)
            pick = int(np.flatnonzero(predicted <= budget)[np.argmax(accuracy[predicted <= budget])])
            search = [best_under(accuracy, truth, evolution_rows(space, lut, evaluator, budget, args.evals, s), budget)
                      for s in range(args.seeds)]
            budget_rows.append({
                "device": device, "meta_test": device in HELP_TEST, "quantile": q, "budget_ms": budget,
                "optimum": optimum,
                **{f"lost_{name}": optimum - best_under(accuracy, truth, rows, budget) for name, rows in proxy_sets.items()},
                "lost_adapted": optimum - best_under(accuracy, truth, adapted_set, budget),
                "lost_oneproxy_oracle": optimum - accuracy[pick] if truth[pick] <= budget else np.nan,
                "oneproxy_oracle_feasible": bool(truth[pick] <= budget),
                "lost_target_search": optimum - float(np.nanmean(search)),
            })
    fronts, budgets = pd.DataFrame(front_rows), pd.DataFrame(budget_rows)
    OUT.mkdir(parents=True, exist_ok=True)
    fronts.to_csv(OUT / f"pareto_fronts_{args.proxy}.csv", index=False)
    budgets.to_csv(OUT / f"pareto_budgets_{args.proxy}.csv", index=False)
    print(fronts.round(3).to_string(index=False))
    print("\nmean share of the true front recovered:",
          fronts.groupby("meta_test")[["table_recovered", "search_recovered", "adapted_recovered"]].mean().round(3).to_dict("index"))
    lost = ["lost_table", "lost_search", "lost_adapted", "lost_oneproxy_oracle", "lost_target_search"]
    print("\naccuracy lost (percentage points) at budgets, HELP meta-test devices:")
    print(budgets[budgets["meta_test"]].groupby("quantile")[lost + ["oneproxy_oracle_feasible"]].mean().round(3).to_string())
    print("\nall targets:")
    print(budgets.groupby("quantile")[lost + ["oneproxy_oracle_feasible"]].mean().round(3).to_string())
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
