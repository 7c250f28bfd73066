"""How well the per-operator sum ranks whole networks measured on this machine's CPU.

    nice -n 10 python experiments/spaces_operator_lut.py [--space fbnet ofa_mbv3] [--n 30]

For each space: build the operator table (conf/oracle/operator_lut.yaml settings, cached), time `n`
seeded random whole networks with the same settings, and report Spearman and mean absolute
percentage error of the sum against them; also Spearman of the sum against every device column of
HELP's 5,000-arch table. Writes experiments/results/spaces/operator_lut_<space>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.config import conf_dir, instantiate
from hwnas.measure.timing import measure_latency_ms

OUT = Path(__file__).resolve().parent / "results" / "spaces"


def evaluate(space_name: str, n: int, seed: int, clock: str) -> dict:
    space = instantiate(OmegaConf.load(conf_dir() / "space" / f"{space_name}.yaml"), "search space")
    node = OmegaConf.load(conf_dir() / "oracle" / "operator_lut.yaml")
    node.samples, node.seed, node.clock = 10, seed, clock
    start = time.perf_counter()
    lut = instantiate(node, "oracle", space=space, device=next(iter(devices.devices(space_name))))
    build_s = time.perf_counter() - start
    archs = space.sample(np.random.default_rng(seed), n)
    summed = lut.local_ms(archs)
    whole, spread = [], []
    for arch in archs:
        torch.manual_seed(seed)
        m = measure_latency_ms(space.build(arch), space.input_shape(arch), lut.settings)
        whole.append(m.median_ms)
        spread.append(m.iqr_ms / m.median_ms)
    whole = np.array(whole)
    table_sum = lut.local_ms(space.table_archs())
    return {
        "space": space_name, "n_operators": len(space.operators()), "operators_measured_now": lut.measured_now,
        "table_build_seconds": build_s, "n_networks": n, "settings": lut.settings.to_dict(),
        "spearman_sum_vs_whole_network": float(spearmanr(summed, whole).statistic),
        "mape_sum_vs_whole_network": float(np.mean(np.abs(summed - whole) / whole)),
        "mean_sum_over_whole_ratio": float(np.mean(summed / whole)),
        "whole_network_ms_range": [float(whole.min()), float(whole.max())],
        "median_relative_iqr_of_whole_network_timings": float(np.median(spread)),
        "spearman_sum_vs_device_tables": {d: float(spearmanr(table_sum, devices.latency_ms(space_name, d)).statistic)
                                          for d in devices.devices(space_name)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", nargs="+", default=["fbnet", "ofa_mbv3"])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=("wall", "thread_cpu"), default="thread_cpu",
                        help="thread_cpu: CPU time of the timing thread (this machine is shared)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.space:
        result = evaluate(name, args.n, args.seed, args.clock)
        (OUT / f"operator_lut_{name}_{args.clock}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "spearman_sum_vs_device_tables"}, indent=2))


if __name__ == "__main__":
    main()
