"""Why HELP fell short on FBNet: meta-train with each (encoding, meta-training rows) pair, score on HELP's
FBNet meta-test devices (fpga, raspi4, eyeriss).

    python experiments/help_fbnet_ablation.py --episodes 1000 --seeds 5

Each setting is meta-trained from scratch (seed 0, not cached) for `--episodes` episodes, then adapted on 10
samples per target under HELP's protocol for that setting (samples from the inliers of the meta-training
rows, Spearman on the inliers of the next 1,000 rows) and, to compare like with like, under one common split
(samples from the inliers of rows 0..899, Spearman on the inliers of rows 4000..4999).
Appends to experiments/results/help/fbnet_ablation.jsonl and rewrites fbnet_ablation.md from it.
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
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.predictors.help_meta import (HELP_SPLITS, MetaConfig, MetaLearner, SpaceData, device_task,  # noqa: E402
                                  inlier_rows, meta_train)

OUT = Path(__file__).resolve().parent / "results" / "help"


def score(learner, sd, cfg, seeds: int, common: bool) -> dict:
    out = {}
    for device in HELP_SPLITS["fbnet"][2]:
        latency = sd.latency_ms(device)
        task = device_task(sd, device, cfg)
        if common:
            pool, query = inlier_rows(latency, np.arange(900), True), inlier_rows(latency, np.arange(4000, 5000), True)
        else:
            pool, query = task.train_rows, task.query_rows
        values = []
        for seed in range(seeds):
            support = np.random.default_rng(seed).choice(pool, 10, replace=False)
            torch.manual_seed(seed)
            pred = learner.predict(task.hw_embed, sd.take(support), torch.from_numpy(task.y[support]),
                                   sd.take(query), cfg.inner_steps, cfg.mc_samples)
            values.append(spearmanr(pred, latency[query]).statistic)
        out[device] = round(float(np.mean(values)), 4)
    out["mean"] = round(float(np.mean(list(out.values()))), 4)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--encodings", default="onehot,factorised")
    parser.add_argument("--rows", default="900,4000", help="meta-training rows per source device")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from hwnas.search_spaces.fbnet import FBNet

    space = FBNet()
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "fbnet_ablation.jsonl"
    for encoding in args.encodings.split(","):
        sd = SpaceData(space, encoding)
        for rows in (int(r) for r in args.rows.split(",")):
            cfg = MetaConfig(episodes=args.episodes, meta_train_rows=rows, encoding=encoding).resolved("fbnet")
            cpu = time.process_time()
            result = meta_train(sd, cfg, log=lambda message: None)
            learner = MetaLearner(sd.encoder, sd.in_features, cfg)
            learner.load_state_dict(result.state)
            line = {"encoding": encoding, "rows": rows, "episodes": args.episodes, "seeds": args.seeds,
                    "cpu_s": round(time.process_time() - cpu), "best_episode": result.best_episode,
                    "valid": round(result.best_valid_spearman, 4), "own": score(learner, sd, cfg, args.seeds, False),
                    "common": score(learner, sd, cfg, args.seeds, True), "load": round(os.getloadavg()[0], 1)}
            with log.open("a") as f:
                f.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)
    lines = ["# FBNet: encoding x meta-training rows (HELP, meta seed 0)", "",
             "Written by `python experiments/help_fbnet_ablation.py --episodes 1000 --seeds 5` (one line per run in fbnet_ablation.jsonl). "
             "`own`: HELP's protocol for that row split; `common`: samples from rows 0..899, Spearman on rows "
             "4000..4999 (inliers). Mean over seeds, then over fpga / raspi4 / eyeriss.", "",
             "| encoding | rows | episodes | best valid (episode) | own: fpga / raspi4 / eyeriss, mean | common mean | CPU s |",
             "|---|---|---|---|---|---|---|"]
    for raw in log.read_text().splitlines():
        r = json.loads(raw)
        own = r["own"]
        lines.append(f"| {r['encoding']} | {r['rows']} | {r['episodes']} | {r['valid']:.3f} ({r['best_episode']}) | "
                     f"{own['fpga']:.3f} / {own['raspi4']:.3f} / {own['eyeriss']:.3f}, **{own['mean']:.3f}** | "
                     f"{r['common']['mean']:.3f} | {r['cpu_s']} |")
    (OUT / "fbnet_ablation.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
