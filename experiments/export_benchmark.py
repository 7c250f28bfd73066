"""Seconds per exported network: torch's TorchScript-based ONNX exporter (dynamo=False, the one `hwnas export`
uses) and TorchScript tracing, on seeded NB201 networks (plus a few FBNet and OFA); build time reported apart.

    python experiments/export_benchmark.py [--n 20] [--dynamo]

`--dynamo` also times `torch.onnx.export(dynamo=True)` on one NB201 network (needs onnxscript; about a minute).
Results: experiments/results/export/export_benchmark.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from hwnas.config import conf_dir, instantiate
from hwnas.measure.export import model_bytes

OUT = Path(__file__).resolve().parent / "results" / "export"


def space_of(name: str):
    return instantiate(OmegaConf.load(conf_dir() / "space" / f"{name}.yaml"), "search space")


def time_exports(space, archs, formats=("onnx", "torchscript")) -> dict:
    """Median / max seconds per network: build, then each format's export (in memory)."""
    seconds = {"build": [], **{f: [] for f in formats}}
    for arch in archs:
        start = time.perf_counter()
        net = space.build(tuple(arch)).eval()
        seconds["build"].append(time.perf_counter() - start)
        shape = tuple(space.input_shape(tuple(arch), 1))
        for fmt in formats:
            start = time.perf_counter()
            model_bytes(net, shape, fmt)
            seconds[fmt].append(time.perf_counter() - start)
    return {k: {"median_s": float(np.median(v)), "max_s": float(np.max(v)), "n": len(v)} for k, v in seconds.items()}


def time_dynamo(space, arch) -> dict:
    net = space.build(tuple(arch)).eval()
    x = torch.zeros(tuple(space.input_shape(tuple(arch), 1)))
    start = time.perf_counter()
    try:
        torch.onnx.export(net, (x,), io.BytesIO(), dynamo=True)
    except Exception as exc:  # noqa: BLE001 - reported, e.g. onnxscript missing
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    return {"seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="NB201 networks (FBNet and OFA: 3 each)")
    parser.add_argument("--dynamo", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    report = {"torch": torch.__version__, "load_average_start": os.getloadavg()[0]}
    nb201 = space_of("nasbench201")
    model_bytes(nb201.build(tuple(nb201.sample(rng, 1)[0])), (1, 3, 32, 32))  # first export loads the exporter
    for name, n in (("nasbench201", args.n), ("fbnet", 3), ("ofa_mbv3", 3)):
        space = space_of(name)
        report[name] = time_exports(space, space.sample(rng, n))
        print(name, json.dumps(report[name]))
    if args.dynamo:
        report["dynamo_nasbench201"] = time_dynamo(nb201, nb201.sample(rng, 1)[0])
        print("dynamo", report["dynamo_nasbench201"])
    report["load_average_end"] = os.getloadavg()[0]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "export_benchmark.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
