"""Eager torch vs ONNX Runtime (CPU execution provider) on this CPU: ranking agreement, speed, repeatability, cost.

Seeded NB201 networks (--n, default 100) are built once; each is timed in eager torch, exported to ONNX, and
timed in ONNX Runtime twice (the second pass in reverse order). Reported: Spearman between the eager and
ONNX Runtime rankings, the median speed ratio eager / ONNX Runtime, Spearman between the two ONNX Runtime
passes, and the seconds per measured architecture by runtime, build and export included (`measure_arch`, a few
NB201, FBNet and OFA networks). Nothing is written to the device store.

    python experiments/runtime_benchmark.py [--n 100] [--clock thread_cpu] [--time-cap-s 1.0] [--cost-archs 3]

Results: experiments/results/runtime/runtime_benchmark.json and runtime_nb201.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf
from scipy.stats import spearmanr

from hwnas.config import conf_dir, instantiate
from hwnas.measure import onnx_runtime
from hwnas.measure.backend import BackendSettings, measure_arch
from hwnas.measure.export import onnx_bytes
from hwnas.measure.timing import measure_latency_ms

OUT = Path(__file__).resolve().parent / "results" / "runtime"


def space_of(name: str):
    return instantiate(OmegaConf.load(conf_dir() / "space" / f"{name}.yaml"), "search space")


def ort_median_ms(sess, shape, timing) -> float:
    """Median ms of one ONNX Runtime session, with the shared stopping rule."""
    samples, _ = onnx_runtime.time_session(sess, shape, timing)
    return float(np.median(samples))


def nb201_comparison(space, archs, settings) -> pd.DataFrame:
    timing = settings.timing()
    rows, sessions = [], []
    for arch in archs:
        net = space.build(tuple(arch)).eval()
        shape = tuple(space.input_shape(tuple(arch), 1))
        eager = measure_latency_ms(net, shape, timing).median_ms
        start = time.perf_counter()
        sess = onnx_runtime.session(onnx_bytes(net, shape), timing.threads, settings.graph_optimization)
        export_s = time.perf_counter() - start
        rows.append({"arch": space.to_string(tuple(arch)), "eager_ms": eager, "ort_ms": ort_median_ms(sess, shape, timing),
                     "export_s": export_s})
        sessions.append((sess, shape))
    for i in reversed(range(len(archs))):  # second ONNX Runtime pass, reverse order
        rows[i]["ort_ms_2"] = ort_median_ms(*sessions[i], timing)
    return pd.DataFrame(rows)


def cost_per_arch(rng, settings_by_runtime, n) -> dict:
    """Seconds per measured architecture (`measure_arch`: build, export for onnxruntime, timing)."""
    out = {}
    for name in ("nasbench201", "fbnet", "ofa_mbv3"):
        space = space_of(name)
        archs = space.sample(rng, n)
        out[name] = {runtime: float(np.mean([measure_arch(space, tuple(a), s).seconds for a in archs]))
                     for runtime, s in settings_by_runtime.items()}
        print(name, out[name])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=("wall", "thread_cpu"), default="wall")
    parser.add_argument("--time-cap-s", type=float, default=2.0)
    parser.add_argument("--cost-archs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    common = dict(backend="cpu", threads=1, clock=args.clock, time_cap_s=args.time_cap_s)
    by_runtime = {r: BackendSettings(runtime=r, **common).resolved() for r in ("torch", "onnxruntime")}
    rng = np.random.default_rng(args.seed)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    nb201 = space_of("nasbench201")
    frame = nb201_comparison(nb201, nb201.sample(rng, args.n), by_runtime["onnxruntime"])
    connected = np.array([not nb201.arch_note(nb201.from_string(a)) for a in frame["arch"]])  # ONNX folds cut-offs
    report = {
        "n": args.n, "clock": args.clock, "time_cap_s": args.time_cap_s, "torch": torch.__version__,
        "onnxruntime": onnx_runtime.version(), "cpu_count": os.cpu_count(),
        "spearman_eager_vs_ort": float(spearmanr(frame["eager_ms"], frame["ort_ms"])[0]),
        "median_speed_ratio_eager_over_ort": float(np.median(frame["eager_ms"] / frame["ort_ms"])),
        "spearman_ort_run1_vs_run2": float(spearmanr(frame["ort_ms"], frame["ort_ms_2"])[0]),
        "spearman_eager_vs_ort_connected_only": float(spearmanr(frame["eager_ms"][connected],
                                                                 frame["ort_ms"][connected])[0]),
        "cut_off_archs": int((~connected).sum()),
        "median_export_s": float(frame["export_s"].median()),
        "median_eager_ms": float(frame["eager_ms"].median()), "median_ort_ms": float(frame["ort_ms"].median()),
    }
    print(json.dumps(report, indent=1))
    report["seconds_per_measured_arch"] = cost_per_arch(rng, by_runtime, args.cost_archs)
    report["load_average"] = [load_start, os.getloadavg()[0]]
    report["wall_s"] = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / "runtime_nb201.csv", index=False)
    (OUT / "runtime_benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"done in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
