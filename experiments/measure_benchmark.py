"""Measurement cost (seconds per architecture, per space) and repeatability on this machine's CPU.

Repeatability: the same 100 NB201 architectures measured twice, independently (second run in
reverse order, so drift in machine load does not line up), Spearman between the two runs' medians.
Nothing is written to the device store.

    python experiments/measure_benchmark.py [--n 100] [--threads 1] [--cost-archs 5] [--clock thread_cpu]
    python experiments/measure_benchmark.py --busy 2 --clock thread_cpu   # with 2 busy-loop processes

`--busy N` starts N spinning processes for the whole run (a shared machine, reproducibly); results
then go to benchmark_<clock>_busy<N>.json / .csv, next to the quiet-machine benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from scipy.stats import spearmanr

from hwnas.cli.commands.measure import choose_archs
from hwnas.config import conf_dir, instantiate
from hwnas.measure.backend import BackendSettings, measure_archs

OUT = Path(__file__).resolve().parent / "results" / "measure"


def space_of(name: str):
    return instantiate(OmegaConf.load(conf_dir() / "space" / f"{name}.yaml"), "search space")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cost-archs", type=int, default=5, help="architectures per other space for the cost table")
    parser.add_argument("--clock", choices=("wall", "thread_cpu"), default="wall")
    parser.add_argument("--busy", type=int, default=0, help="spinning processes competing for the CPU meanwhile")
    parser.add_argument("--tag", default="", help="suffix for the output files (e.g. 'loaded' for a shared machine)")
    args = parser.parse_args()
    settings = BackendSettings(backend="cpu", threads=args.threads, clock=args.clock).resolved()
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    try:
        report, archs, runs, nb201 = measure(args, settings)
    finally:
        for spinner in spinners:
            spinner.terminate()
    suffix = "" if args.clock == "wall" and not args.busy else f"_{args.clock}_busy{args.busy}"
    suffix += f"_{args.tag}" if args.tag else ""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"benchmark{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    with open(OUT / f"benchmark_nb201{suffix}.csv", "w") as fh:
        fh.write("index,arch,run1_ms,run2_ms,run1_iqr_ms,run2_iqr_ms,note\n")
        for a, r1, r2 in zip(archs, runs[0], runs[1]):
            fh.write(f"{r1.index},{nb201.to_string(a)},{r1.latency_ms:.5f},{r2.latency_ms:.5f},"
                     f"{r1.spread_ms:.5f},{r2.spread_ms:.5f},{r1.note}\n")
    print(json.dumps(report, indent=2))
    print(f"Spearman between two runs of {args.n} NB201 archs ({args.clock} clock, {args.busy} busy processes): "
          f"median {report['nasbench201']['spearman_run1_run2']:.3f}, fastest run "
          f"{report['nasbench201']['spearman_run1_run2_min_ms']:.3f} (load average "
          f"{report['load_average_after'][0]:.1f} on {os.cpu_count()} cores)")


def _spin() -> None:
    while True:
        pass


def measure(args, settings: BackendSettings) -> tuple[dict, list, list, object]:
    """Both repeatability runs and the per-space cost table."""
    load_before = os.getloadavg()

    nb201 = space_of("nasbench201")
    archs = choose_archs(nb201, args.n, args.seed)
    runs, seconds = [], []
    for order in (archs, archs[::-1]):
        start = time.perf_counter()
        result = measure_archs(nb201, order, settings)
        seconds.append(time.perf_counter() - start)
        by_arch = {r.arch: r for r in result.results}
        runs.append([by_arch[a] for a in archs])
    first = np.array([r.latency_ms for r in runs[0]])
    second = np.array([r.latency_ms for r in runs[1]])
    rel_spread = np.array([r.spread_ms / r.latency_ms for run in runs for r in run])
    report = {
        "settings": settings.to_dict(), "n": args.n, "seed": args.seed, "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "nasbench201": {
            "spearman_run1_run2": float(spearmanr(first, second).statistic),
            "spearman_run1_run2_min_ms": float(spearmanr([r.min_ms for r in runs[0]],
                                                         [r.min_ms for r in runs[1]]).statistic),
            "median_abs_rel_diff": float(np.median(np.abs(first - second) / first)),
            "seconds_per_arch": [s / args.n for s in seconds],
            "median_rel_spread_iqr": float(np.median(rel_spread)),
            "stable_share": float(np.mean([r.stable for run in runs for r in run])),
            "latency_ms_range": [float(first.min()), float(first.max())],
            "cut_off_cells": int(sum(bool(r.note) for r in runs[0])),
        },
        "cost": {},
    }
    report["cost"]["nasbench201"] = {"seconds_per_arch": float(np.mean(seconds) / args.n),
                                     "median_latency_ms": float(np.median(first))}
    for name in ("fbnet", "ofa_mbv3"):
        if not (conf_dir() / "space" / f"{name}.yaml").is_file():
            continue
        space = space_of(name)
        start = time.perf_counter()
        result = measure_archs(space, choose_archs(space, args.cost_archs, args.seed), settings)
        ok = [r for r in result.results if r.ok]
        report["cost"][name] = {
            "seconds_per_arch": (time.perf_counter() - start) / args.cost_archs, "archs": args.cost_archs,
            "errors": [r.status for r in result.results if not r.ok],
            "median_latency_ms": float(np.median([r.latency_ms for r in ok])) if ok else None}
    report["load_average_after"] = os.getloadavg()
    return report, archs, runs, nb201


if __name__ == "__main__":
    main()
