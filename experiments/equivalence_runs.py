"""Behaviour check for refactors: a fixed list of runs whose results must not change.

Runs each command through the CLI into `--out/<name>/`, then writes `--out/results.json`: every
summary.json (or predictions CSV) with timing and path fields removed, so two trees compare with
`diff <(jq -S . before/results.json) <(jq -S . after/results.json)`.

    python experiments/equivalence_runs.py --out /tmp/before
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

COMMON = ["progress=false", "seed=0"]
RUNS = {
    **{f"nb201_{s}_lut": ["search", f"strategy={s}", "oracle=lut", "device=pixel3", "budget_ms=6.5",
                          "max_evals=60" if s == "gp" else "max_evals=150", *COMMON]
       for s in ("random", "evolution", "reinforce", "tpe", "gp")},
    "nb201_nsga2_pareto": ["search", "strategy=nsga2", "objective=pareto", "device=pixel3", "budget_ms=6.5",
                           "max_evals=120", *COMMON],
    "fbnet_lut": ["search", "space=fbnet", "oracle=lut", "device=raspi4", "restrict_to_table=true",
                  "budget_ms=30", "max_evals=40", *COMMON],
    "ofa_lut": ["search", "space=ofa_mbv3", "oracle=lut", "device=titan_rtx_64", "restrict_to_table=true",
                "budget_ms=20", "max_evals=80", *COMMON],
    "predict_oneproxy": ["predict", "oracle=oneproxy", "device=eyeriss", "seed=0"],
    "predict_help": ["predict", "oracle=help", "device=pixel2", "oracle.episodes=40", "oracle.valid_every=20",
                     "seed=0"],
}
DROP = {"wall_s", "wall_seconds", "command_seconds", "seconds", "shared_seconds", "measurement_seconds",
        "config", "optuna_storage", "setup_seconds", "wall_seconds_total"}


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HWNAS_CACHE_DIR": str(args.out / "cache"),
           "HWNAS_DEVICE_STORE": str(args.out / "devices")}
    results = {}
    for name, argv in RUNS.items():
        if args.only and name not in args.only:
            continue
        folder = (args.out / name).resolve()
        extra = [f"hydra.run.dir={folder}"] + ([f"out={folder / 'pred.csv'}"] if argv[0] == "predict" else [])
        proc = subprocess.run(["hwnas", *argv, *extra], env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{name} failed:\n{proc.stderr[-2000:]}")
        if argv[0] == "predict":
            with open(folder / "pred.csv") as fh:
                rows = list(csv.reader(fh))
            results[name] = {"rows": len(rows), "head": rows[:5], "tail": rows[-3:]}
        else:
            results[name] = clean(json.loads((folder / "summary.json").read_text()))
        print(name, "ok", flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
