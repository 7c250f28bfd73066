"""NASFLAT's costs on this machine: pre-training (from the cache entry, or trained now), transfer (adapt) and a
batched prediction of every NB201 cell without the table cache; and the sampler's pick of the target samples.

    python experiments/nasflat_speed.py --space nb201 --device pixel2 --task 0

Writes experiments/results/nasflat/speed_<space>.json. Targets (issue 15): pre-training no slower than HELP's
meta-training (NB201 about 7.5 min on 2 cores), transfer < 10 s, all 15,625 NB201 cells < 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle  # noqa: E402
from hwnas.predictors.nasflat_jobs import available_cores  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "nasflat"
SPACES = {"nb201": "nasbench201", "fbnet": "fbnet"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=list(SPACES), default="nb201")
    parser.add_argument("--device", default="pixel2")
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    space = devices.search_space(SPACES[args.space])
    oracle = NasflatOracle(space, args.device, samples=args.samples, task=args.task)
    t0 = time.perf_counter()
    refs = oracle.reference_archs()
    sample_s = time.perf_counter() - t0
    truth = devices.latency_ms(space.name, args.device)
    adapt_s, adapt_cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        oracle.adapt(refs, truth[space.table_index(refs)])
        adapt_s.append(time.perf_counter() - t0)
        adapt_cpu.append(time.process_time() - c0)
    archs = np.asarray(space.table_archs())
    predict_s, predict_cpu, lookup_s = [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        oracle.predict_uncached_ms(archs)
        predict_s.append(time.perf_counter() - t0)
        predict_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        oracle.predict_ms(archs)
        lookup_s.append(time.perf_counter() - t0)
    result = {"command": " ".join(["python experiments/nasflat_speed.py"] + (argv or sys.argv[1:])),
              "space": space.name, "device": args.device, "sources": list(oracle.sources),
              "ensemble": len(oracle.entries), "readout": oracle.readout, "source_mix": oracle.source_mix,
              "sampler": oracle.sampler, "sample_s": round(sample_s, 3),
              "pretrain_wall_s": round(sum(e["seconds"] for e in oracle.entries), 1),
              "pretrain_cpu_s": round(sum(e["cpu_seconds"] for e in oracle.entries), 1),
              "pretrain_epochs": oracle.pretrain_cfg.epochs, "source_rows": oracle.pretrain_cfg.source_rows,
              "adapt_s_median": round(float(np.median(adapt_s)), 3), "adapt_s": [round(s, 3) for s in adapt_s],
              "adapt_cpu_s_median": round(float(np.median(adapt_cpu)), 3),
              "predict_uncached_s_median": round(float(np.median(predict_s)), 3),
              "predict_uncached_cpu_s_median": round(float(np.median(predict_cpu)), 3),
              "predict_table_lookup_s_median": round(float(np.median(lookup_s)), 4), "archs_predicted": len(archs),
              "torch_threads": 1, "transfer_workers": oracle.transfer_workers, "cores": available_cores(),
              "load_average_end": round(os.getloadavg()[0], 1)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"speed_{args.space}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
