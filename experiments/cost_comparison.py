"""Part 4 comparison: every oracle x strategy on NB201 over HELP's meta-test devices, 3 budgets,
several seeds; median regret, violation rate and total cost (cost model of conf/cost_model.yaml).

    python experiments/cost_comparison.py                      # 5 seeds, 300 evaluations (long)
    python experiments/cost_comparison.py --seeds 2 --oracles lut,brpnas,oneproxy

Runs one Hydra multirun per device through `hwnas search -m +launcher=local` (budgets differ per
device: its 25th, 50th and 75th latency percentiles), then `hwnas report` over all of them, and
writes experiments/results/cost/{runs.csv, comparison.csv, comparison.md, methods.csv}.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas.data import devices  # noqa: E402
from hwnas.analysis.cost_model import CostModel  # noqa: E402
from hwnas.report.runs import load_runs  # noqa: E402
from hwnas.report.tables import _markdown  # noqa: E402

META_TEST = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")  # HELP's NB201 split
QUANTILES = (25, 50, 75)


def budgets_ms(device: str) -> list[float]:
    return [round(float(np.nanpercentile(devices.latency_ms("nasbench201", device), q)), 3) for q in QUANTILES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracles", default="lut,brpnas,oneproxy")
    parser.add_argument("--strategies", default="evolution,random")
    parser.add_argument("--devices", default=",".join(META_TEST))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-evals", type=int, default=300)
    parser.add_argument("--launcher", default="local", help="conf/launcher preset, or 'none' for sequential")
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "cost_comparison"))
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "cost"))
    parser.add_argument("--set", action="append", default=[], help="cost model override key=value")
    args = parser.parse_args()

    runs_dir, out = Path(args.runs_dir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device_list = args.devices.split(",")
    started = time.perf_counter()
    for device in device_list:
        sweep = runs_dir / device
        if (sweep / "multirun.yaml").is_file():
            print(f"{device}: reusing {sweep}")
            continue
        command = [sys.executable, "-m", "hwnas.cli", "search", "-m",
                   *([f"+launcher={args.launcher}"] if args.launcher != "none" else []),
                   f"oracle={args.oracles}", f"strategy={args.strategies}", f"device={device}",
                   "budget_ms=" + ",".join(map(str, budgets_ms(device))),
                   "seed=" + ",".join(map(str, range(args.seeds))), f"max_evals={args.max_evals}",
                   "progress=false", f"hydra.sweep.dir={sweep}"]
        print(" ".join(command[2:]), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    sweep_s = time.perf_counter() - started

    runs = load_runs([runs_dir / d for d in device_list])
    for problem in runs.problems:
        print("warning:", problem)
    overrides = dict(item.split("=", 1) for item in args.set)
    model = CostModel.load(overrides={k: float(v) for k, v in overrides.items()})
    table = runs.table.copy()
    priced = [model.run_seconds({"target_measurements_total": r.target_measurements,
                                 "wall_seconds": {"all": r.wall_seconds},
                                 "shared_setup": {"seconds": r.shared_setup_seconds}},
                                r.space, r.device, n_devices=len(device_list)) for r in table.itertuples()]
    table["priced_measurement_s"] = [p["measurement_s"] for p in priced]
    table["total_cost_s"] = [p["total_s"] for p in priced]
    table.to_csv(out / "runs.csv", index=False)

    comparison = table.groupby(["oracle", "strategy"]).agg(
        runs=("run", "size"), median_regret=("regret", "median"), mean_regret=("regret", "mean"),
        violation_rate=("violated", "mean"), false_feasible_rate=("false_feasible_rate", "mean"),
        target_measurements=("target_measurements", "median"), median_total_cost_s=("total_cost_s", "median"),
        median_wall_s=("wall_seconds", "median")).reset_index()
    comparison.to_csv(out / "comparison.csv", index=False)
    methods = pd.DataFrame([row for d in device_list for row in model.compare("nasbench201", d, (1, len(device_list)))])
    methods.to_csv(out / "methods.csv", index=False)
    method_summary = methods.groupby(["method", "n_devices"])[["per_device_measurements", "total_s",
                                                               "amortised_per_device_s"]].median().reset_index()
    text = [f"# Cost comparison (NB201, devices {', '.join(device_list)}; budgets = latency percentiles "
            f"{QUANTILES}; seeds 0..{args.seeds - 1}; {args.max_evals} evaluations)", "",
            f"{len(table)} runs, sweeps took {sweep_s:.0f} s (2 shared CPU cores, under contention).", "",
            "## Search: oracle x strategy", "", _markdown(comparison), "",
            "## Getting latencies for new devices (median over devices, seconds)", "", _markdown(method_summary), ""]
    (out / "comparison.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
