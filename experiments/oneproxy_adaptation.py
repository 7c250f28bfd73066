"""OneProxy's monotonicity check and adaptation on every target device: Spearman before/after.

For each target and seed, k probes are measured (from the table) and the oneproxy oracle is built in
each mode: `scale` (proxy reused, scale only), `adapt` (fine-tuned on the probes), `auto` (the
monotonicity check decides), `target_only` (least squares on the target probes alone, same
features), plus OneProxy's own baseline `lsq_onehot` (pseudo-inverse on the one-hot encoding).
Protocols: `whole` (probes are the oracle's seeded draw, Spearman over every tabled arch) and
`help` (HELP's: probes from rows 0..899, Spearman on rows 900..1899 without the 10 % fastest/slowest).

    python experiments/oneproxy_adaptation.py [--samples 10] [--seeds 10] [--proxy pixel3] [--proxy-archs N]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.search_spaces import _help_data

from hwnas.data import devices
from hwnas.analysis.monotonicity import spearman
from hwnas.predictors.oneproxy import OneProxy
from hwnas.search_spaces.nasbench201 import NasBench201

HELP_TEST = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")
MODES = ("scale", "adapt", "auto", "target_only")
OUT = Path(__file__).resolve().parent / "results" / "oneproxy"


def lsq_onehot(space, probes, latency, archs):
    """OneProxy notebook's target-only baseline: unregularised pseudo-inverse fit on the one-hot encoding."""
    design = np.hstack([np.ones((len(probes), 1)), space.encode(probes)])
    weights = np.linalg.pinv(design) @ latency
    return np.hstack([np.ones((len(archs), 1)), space.encode(archs)]) @ weights


def help_rows(truth: np.ndarray) -> np.ndarray:
    query = np.arange(900, 1900)
    low, high = np.quantile(truth[query], [0.1, 0.9])
    return query[(truth[query] >= low) & (truth[query] <= high)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--proxy", default="pixel3")
    parser.add_argument("--proxy-archs", type=int, default=None, help="proxy measurements (default: its table)")
    args = parser.parse_args()
    logging.getLogger("hwnas.predictors.oneproxy").setLevel(logging.ERROR)
    space = NasBench201()
    table = np.asarray(space.table_archs())
    oneproxy_targets = [d for d in _help_data.nb201_oneproxy_latency().columns if d != f"rice_{args.proxy}"]
    targets = [(d, "HELP meta-test") for d in HELP_TEST] + [(d, "OneProxy") for d in oneproxy_targets]
    rows_out = []
    start = time.perf_counter()
    for device, group in targets:
        truth = devices.latency_ms(space.name, device)
        covered = np.flatnonzero(np.isfinite(truth))
        protocols = ["whole"] + (["help"] if covered.size == len(truth) else [])
        for protocol in protocols:
            eval_rows = covered if protocol == "whole" else help_rows(truth)
            for seed in range(args.seeds):
                for mode in MODES + ("lsq_onehot",):
                    oracle = OneProxy(space, device, proxy=args.proxy, samples=args.samples, seed=seed,
                                      proxy_archs=args.proxy_archs, mode="target_only" if mode == "lsq_onehot" else mode)
                    if protocol == "whole":
                        probes = np.asarray(oracle.reference_archs())
                    else:
                        probes = table[np.random.default_rng(seed).choice(900, args.samples, replace=False)]
                    measured = truth[space.index(probes)]
                    if mode == "lsq_onehot":
                        predicted = lsq_onehot(space, probes, measured, table[eval_rows])
                        report = {}
                    else:
                        oracle.adapt([tuple(p) for p in probes], measured)
                        predicted = oracle.predict_ms(table[eval_rows])
                        report = oracle.report
                    rows_out.append({
                        "device": device, "group": group, "kind": devices.device_kind(device),
                        "protocol": protocol, "seed": seed, "mode": mode, "samples": args.samples,
                        "spearman": spearman(predicted, truth[eval_rows]), "n_eval": len(eval_rows),
                        "rho_probes": report.get("rho_before"), "ci_low": report.get("ci_low"),
                        "decision": report.get("decision"), "pull": report.get("pull"),
                        "min_predicted_ms": float(predicted.min()),
                    })
    frame = pd.DataFrame(rows_out)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"adaptation_{args.proxy}_k{args.samples}" + (f"_p{args.proxy_archs}" if args.proxy_archs else "") + ".csv"
    frame.to_csv(OUT / name, index=False)
    summary = frame.groupby(["protocol", "group", "device", "mode"])["spearman"].mean().unstack("mode")
    summary = summary[list(MODES) + ["lsq_onehot"]]
    print(summary.round(3).to_string())
    print("\nmean over devices:")
    print(summary.groupby(level=["protocol", "group"]).mean().round(3).to_string())
    decisions = frame[frame["mode"] == "auto"].groupby("device")["decision"].agg(lambda s: s.value_counts().to_dict())
    print("\nauto decisions:", decisions.to_dict())
    print(f"\nwrote {OUT / name} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
