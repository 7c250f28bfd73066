"""Cost of latency for N new NB201 target devices: per-device lookup tables, HELP, OneProxy.

Counts target-device measurements and prices them in seconds with `hwnas.analysis.cost_model` (deployment
overhead by device kind + 60 timed inference runs; its defaults are assumptions, see
conf/cost_model.yaml). LUT: every architecture on every target. HELP (Lee et al. 2021): 10 per
target + shared meta-training (900 archs x 9 source devices, 7.2 min compute: DESIGN.md's numbers,
the HELP oracle was not in conf/ when this was written). OneProxy (Lu et al. 2021): the proxy's table
once (all 15,625, or 900 of them: `proxy_archs=900`) + k probes per target; `+ reuse` also measures the proxy's 44-arch Pareto set on each target.

    python experiments/oneproxy_cost.py [--samples 10] [--proxy pixel3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.search_spaces import _help_data

from hwnas.data import devices
from hwnas.analysis.cost_model import CostModel
from hwnas.predictors.oneproxy import fit_proxy
from hwnas.search_spaces.nasbench201 import NasBench201

HELP_TEST = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")
HELP_TRAIN = ("1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
              "essential_ph_1", "samsung_s7")
HELP_META_TRAIN_S = 7.2 * 60
PROXY_FRONT = 44  # pixel3's Pareto set over the table (experiments/oneproxy_pareto.py)
OUT = Path(__file__).resolve().parent / "results" / "oneproxy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--proxy", default="pixel3")
    args = parser.parse_args()
    space, model = NasBench201(), CostModel.load()
    per_s = {d: model.device_seconds_per_measurement(space.name, d) for d in _help_data.nb201_help_latency().columns}
    order = list(HELP_TEST) + sorted(d for d in per_s if d not in HELP_TEST and d != args.proxy)
    proxy_fit = fit_proxy(space, args.proxy, 1.0)
    small_fit = fit_proxy(space, args.proxy, 1.0, 900)
    shared = {
        "LUT": (0, 0.0),
        "HELP": (900 * len(HELP_TRAIN), sum(900 * per_s[d] for d in HELP_TRAIN) + HELP_META_TRAIN_S),
        "OneProxy": (proxy_fit.n_train, proxy_fit.n_train * per_s[args.proxy] + proxy_fit.fit_seconds),
        "OneProxy, 900 proxy archs": (small_fit.n_train, small_fit.n_train * per_s[args.proxy] + small_fit.fit_seconds),
    }
    shared["OneProxy + reuse"] = shared["OneProxy"]
    rows = []
    for n in (1, 5, 10, 20):
        targets = order[:n]
        per_device = {
            "LUT": [int(np.isfinite(devices.latency_ms(space.name, d)).sum()) for d in targets],
            "HELP": [10] * n,
            "OneProxy": [args.samples] * n,
            "OneProxy, 900 proxy archs": [args.samples] * n,
            "OneProxy + reuse": [args.samples + PROXY_FRONT] * n,
        }
        for method, counts in per_device.items():
            target_s = sum(c * per_s[d] for c, d in zip(counts, targets))
            shared_count, shared_s = shared[method]
            rows.append({"targets": n, "method": method, "target_measurements": sum(counts),
                         "shared_measurements": shared_count, "target_hours": target_s / 3600,
                         "shared_hours": shared_s / 3600, "total_hours": (target_s + shared_s) / 3600,
                         "hours_per_target": (target_s + shared_s) / 3600 / n})
    frame = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / "cost.csv", index=False)
    print(frame.round(2).to_string(index=False))
    print(f"\ntargets in order: {', '.join(order[:20])}")
    print(f"proxy {args.proxy}: {proxy_fit.n_train:,} measurements, predictor fit {proxy_fit.fit_seconds:.1f} s")


if __name__ == "__main__":
    main()
