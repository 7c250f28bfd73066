"""OpenVINO against ONNX Runtime and eager torch on this CPU: ranking agreement, speed, repeatability, cost.

Seeded NB201 networks (--n) are measured with `measure_arch` (build and export included) in eager torch, ONNX
Runtime and OpenVINO (two passes, the second in reverse order), one thread, the thread-CPU clock. Nothing is
written to the device store.

    python experiments/openvino_benchmark.py [--n 40]

Results: experiments/results/runtime/openvino_benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from hwnas.data.devices import search_space
from hwnas.measure.backend import BackendSettings, measure_arch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = search_space("nasbench201")
    archs = [tuple(int(v) for v in a) for a in space.sample(np.random.default_rng(args.seed), args.n)]
    settings = {r: BackendSettings(backend="cpu", runtime=r, threads=1, clock="thread_cpu").resolved()
                for r in ("torch", "onnxruntime", "openvino")}
    ms, seconds = {}, {}
    for name, order in (("torch", archs), ("onnxruntime", archs), ("openvino", archs), ("openvino_again", archs[::-1])):
        runtime = name.split("_")[0]
        start = time.perf_counter()
        values = {a: measure_arch(space, a, settings[runtime]).latency_ms for a in order}
        seconds[name] = (time.perf_counter() - start) / len(order)
        ms[name] = np.array([values[a] for a in archs])
    ok = np.isfinite(np.column_stack(list(ms.values()))).all(axis=1)
    out = {
        "n": int(ok.sum()), "load_average": os.getloadavg()[0],
        "spearman_openvino_vs_onnxruntime": float(spearmanr(ms["openvino"][ok], ms["onnxruntime"][ok]).statistic),
        "spearman_openvino_vs_torch": float(spearmanr(ms["openvino"][ok], ms["torch"][ok]).statistic),
        "spearman_openvino_two_passes": float(spearmanr(ms["openvino"][ok], ms["openvino_again"][ok]).statistic),
        "median_ratio_torch_over_openvino": float(np.median(ms["torch"][ok] / ms["openvino"][ok])),
        "median_ratio_onnxruntime_over_openvino": float(np.median(ms["onnxruntime"][ok] / ms["openvino"][ok])),
        "median_ms": {k: float(np.median(v[ok])) for k, v in ms.items()},
        "seconds_per_arch": seconds,
    }
    path = Path(__file__).resolve().parent / "results" / "runtime" / "openvino_benchmark.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
