"""Measure-and-refit (issue 16, part 3) on NB201: HELP's six meta-test devices x budgets at the 25/50/75th
latency percentile x seeds x 300 evaluations, strategies evolution and tpe. `--space fbnet`: FBNet's three
HELP meta-test devices on the tabled set (`restrict_to_table=true`; the score is the space's evaluator,
SynFlow, so regret is in its log10 units).

Rows: lut (the full table), help, help+chance (constraint_confidence 0.9), help+refine, oneproxy,
oneproxy+refine. Per row: median and 90th-percentile regret (of the picks within budget, as in
experiments/results/cost), picks over budget (on the device's table), target measurements per run
(all phases), seconds per refit. Every run is one `Session.search()`; finished runs are kept in
runs.csv, so an interrupted benchmark continues where it stopped.

    nice -n 10 python experiments/refine_benchmark.py --seeds 0,1,2
    nice -n 10 python experiments/refine_benchmark.py --rows help+refine,oneproxy+refine --refine 30,3 \\
        --seeds 0 --out experiments/results/refine/tune_k30_m3      # a (k, m) setting for tuning
    nice -n 10 python experiments/refine_benchmark.py --space fbnet --strategies evolution --seeds 0,1,2 \
        --out experiments/results/refine/fbnet
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.data import devices
from hwnas.engine.session import Session
from hwnas.report.tables import _markdown

DEVICES = {"nasbench201": ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"),   # HELP's
           "fbnet": ("fpga", "raspi4", "eyeriss")}                                                # meta-test split
SPACE_OVERRIDES = {"nasbench201": [], "fbnet": ["space=fbnet", "restrict_to_table=true"]}
QUANTILES = (25, 50, 75)
ROWS = {   # row -> overrides
    "lut": ["oracle=lut"],
    "help": ["oracle=help"],
    "help+chance": ["oracle=help", "constraint_confidence=0.9"],
    "help+refine": ["oracle=help", "refine=true"],
    "oneproxy": ["oracle=oneproxy"],
    "oneproxy+refine": ["oracle=oneproxy", "refine=true"],
    "help+refine@0.5": ["oracle=help", "refine=true", "constraint_confidence=0.5"],   # refine's rule before
    "oneproxy+refine@0.5": ["oracle=oneproxy", "refine=true", "constraint_confidence=0.5"],
    "nasflat+refine": ["oracle=nasflat", "refine=true"],
}
OUT = Path(__file__).resolve().parent / "results" / "refine"


def budget_ms(device: str, quantile: int, space: str = "nasbench201") -> float:
    return round(float(np.nanpercentile(devices.latency_ms(space, device), quantile)), 3)


def run_one(row: str, strategy: str, device: str, quantile: int, seed: int, max_evals: int,
            refine: tuple[int, int, int], space: str = "nasbench201") -> dict:
    every, batch, cap = refine
    budget = budget_ms(device, quantile, space)
    overrides = ROWS[row] + SPACE_OVERRIDES[space] + [f"device={device}", f"budget_ms={budget!r}", f"seed={seed}",
                             f"strategy={strategy}", f"max_evals={max_evals}", "progress=false",
                             f"refine_every={every}", f"refine_batch={batch}", f"refine_max_measurements={cap}"]
    started = time.perf_counter()
    summary = Session.compose("search", overrides).search()
    best, truth, cost = summary["best"], summary["ground_truth"], summary["cost"]
    return {"row": row, "strategy": strategy, "device": device, "quantile": quantile, "seed": seed,
            "budget_ms": budget, "over_budget": bool(best is None or not best["feasible"]),
            "regret": truth["regret"] if truth["regret"] is not None else np.nan,
            "target_measurements": int(cost["target_measurements_total"]),
            **{f"measurements_{p}": int(n) for p, n in cost["target_measurements"].items()},
            "refits": int(cost["refits"]), "refit_s": cost["refit_seconds"] / cost["refits"] if cost["refits"] else np.nan,
            "refit_queries": int(cost["refit_queries"]), "seconds": time.perf_counter() - started,
            "every": every, "batch": batch, "cap": cap}


def refit_timing(devices_: list[str], seeds: list[int], refine: tuple[int, int, int], out: Path) -> None:
    """Seconds per refit of help on NB201 (adapt on every measurement + one batched re-prediction), wall and
    CPU time of this process: the wall time depends on how busy the machine is, the CPU time much less."""
    every, batch, cap = refine
    rows = []
    for device in devices_:
        for seed in seeds:
            summary = Session.compose("search", [
                "oracle=help", "refine=true", f"device={device}", f"budget_ms={budget_ms(device, 50)!r}",
                f"seed={seed}", "strategy=evolution", "max_evals=300", "progress=false", f"refine_every={every}",
                f"refine_batch={batch}", f"refine_max_measurements={cap}"]).search()
            cost = summary["cost"]
            rows.append({"device": device, "seed": seed, "refits": cost["refits"],
                         "refit_queries_per_refit": cost["refit_queries"] / cost["refits"],
                         "wall_s_per_refit": cost["refit_seconds"] / cost["refits"],
                         "cpu_s_per_refit": cost["refit_cpu_seconds"] / cost["refits"]})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(out / "refit_timing.csv", index=False)
    print(frame.describe().round(3).to_string())


def p90(values: pd.Series) -> float:
    values = values.dropna()
    return float(np.percentile(values, 90)) if len(values) else np.nan


def matched(runs: pd.DataFrame) -> pd.DataFrame:
    """Only the (device, budget, seed) settings that every row of a strategy finished: rows compare like for like."""
    keys = ["strategy", "device", "quantile", "seed"]
    rows = runs.groupby("strategy")["row"].nunique()
    complete = runs.groupby(keys)["row"].nunique().reset_index()
    complete = complete[complete["row"] == complete["strategy"].map(rows)][keys]
    return runs.merge(complete, on=keys)


def table(runs: pd.DataFrame, like_for_like: bool = True) -> pd.DataFrame:
    runs = matched(runs) if like_for_like else runs
    return runs.groupby(["row", "strategy"], sort=False).agg(
        runs=("regret", "size"), seeds=("seed", "nunique"), median_regret=("regret", "median"), p90_regret=("regret", p90),
        over_budget_pct=("over_budget", lambda v: 100 * v.mean()),
        measurements=("target_measurements", "mean"), max_measurements=("target_measurements", "max"),
        refit_s=("refit_s", "mean"), refit_s_max=("refit_s", "max")).reset_index()


def paired(runs: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Each row against the same-named row of an earlier runs.csv on the settings both ran: medians and how
    many runs got better, worse or equal."""
    keys = ["row", "strategy", "device", "quantile", "seed"]
    both = runs[keys + ["regret"]].merge(baseline[keys + ["regret"]], on=keys, suffixes=("", "_before"))
    delta = both["regret"] - both["regret_before"]
    return both.assign(better=delta < 0, worse=delta > 0, equal=delta == 0).groupby(["row", "strategy"]).agg(
        runs=("regret", "size"), median_before=("regret_before", "median"), median_now=("regret", "median"),
        mean_before=("regret_before", "mean"), mean_now=("regret", "mean"), better=("better", "sum"),
        worse=("worse", "sum"), equal=("equal", "sum")).reset_index()


def plot(summary: pd.DataFrame, path: Path, space: str = "nasbench201") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for strategy, marker, offset in (("evolution", "o", (5, 3)), ("tpe", "s", (5, -10))):   # labels apart
        part = summary[summary.strategy == strategy]
        ax.scatter(part.measurements, part.median_regret, marker=marker, label=strategy)
        for r in part.itertuples():
            ax.annotate(f"{r.row} ({r.over_budget_pct:.0f}% over)", (r.measurements, r.median_regret), fontsize=7,
                        xytext=offset, textcoords="offset points", color="C0" if strategy == "evolution" else "C1")
    ax.set_xscale("log")
    ax.set_xlabel("target measurements per run (all phases, log)")
    ax.set_ylabel("median regret (picks within budget)" + (", SynFlow log10" if space == "fbnet" else ""))
    ax.set_title(f"{space}, HELP's {len(DEVICES[space])} meta-test devices, 3 budgets")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--strategies", default="evolution,tpe")
    parser.add_argument("--space", default="nasbench201", choices=sorted(DEVICES))
    parser.add_argument("--devices", default=None, help="comma-separated (default: the space's HELP meta-test devices)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-evals", type=int, default=300)
    parser.add_argument("--refine", default="50,5,40", help="refine_every,refine_batch[,refine_max_measurements]")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--report-only", action="store_true", help="summarise runs.csv without running")
    parser.add_argument("--refit-timing", action="store_true", help="only time help's refits (evolution, 50th "
                                                                         "percentile budget): refit_timing.csv")
    parser.add_argument("--merge", default="", help="with --report-only: also read these runs.csv files (comma-separated)")
    parser.add_argument("--merge-old", default="", help="with --report-only: runs.csv files of which only the rows "
                                                        "--merge-rows are read (an earlier session's rows without refine)")
    parser.add_argument("--merge-rows", default="lut,help,help+chance,oneproxy")
    parser.add_argument("--held-out", default="", help="seeds not used while developing the method: the summary "
                                                       "also tables them apart from the others")
    parser.add_argument("--baseline", default="", help="with --report-only: an earlier runs.csv; each row is "
                                                       "compared run by run with its same-named row there")
    parser.add_argument("--no-correction", action="store_true", help="ablation: refine without the learnt "
                                                                     "discrepancy (hwnas.engine.refine.CORRECT)")
    args = parser.parse_args(argv)
    if args.no_correction:
        from hwnas.engine import refine as refine_module
        refine_module.CORRECT = False
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    refine = tuple(int(v) for v in args.refine.split(","))
    refine = refine + (40,) if len(refine) == 2 else refine
    device_names = args.devices.split(",") if args.devices else list(DEVICES[args.space])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.refit_timing:
        return refit_timing(device_names, [int(v) for v in args.seeds.split(",")], refine, out)
    path = out / "runs.csv"
    runs = pd.read_csv(path) if path.exists() else pd.DataFrame()
    done = set(map(tuple, runs[["row", "strategy", "device", "quantile", "seed"]].astype(str).values)) if len(runs) else set()
    todo = [(r, s, d, q, seed) for seed in (int(v) for v in args.seeds.split(",")) for d in device_names
            for q in QUANTILES for s in args.strategies.split(",") for r in args.rows.split(",")
            if tuple(map(str, (r, s, d, q, seed))) not in done]
    for i, key in enumerate([] if args.report_only else todo):
        row = run_one(*key, args.max_evals, refine, args.space)
        pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)
        print(f"[{i + 1}/{len(todo)}] {key}: regret {row['regret']:.3f} over {row['over_budget']} "
              f"measurements {row['target_measurements']} ({row['seconds']:.1f} s)", flush=True)
    read = lambda files: [pd.read_csv(p) for p in filter(None, files.split(",")) if Path(p).exists()]   # noqa: E731
    merged = read(args.merge) + [m[m["row"].isin(args.merge_rows.split(","))] for m in read(args.merge_old)]
    runs = pd.concat([pd.read_csv(path), *merged] if path.exists() else merged)
    runs = runs.drop_duplicates(["row", "strategy", "device", "quantile", "seed"])   # this folder's run first
    summary = table(runs)
    summary.to_csv(out / "summary.csv", index=False)
    command = "python experiments/refine_benchmark.py " + " ".join(argv if argv is not None else os.sys.argv[1:])
    every = table(runs, like_for_like=False)
    every.to_csv(out / "summary_all_runs.csv", index=False)
    split = ""
    if args.held_out:
        held = runs["seed"].isin([int(v) for v in args.held_out.split(",")])
        split = "".join(f"\n\n{title} (every finished run):\n\n" + _markdown(table(part, like_for_like=False).round(3))
                        for title, part in (("Seeds " + args.held_out + ", not used while developing", runs[held]),
                                            ("The other seeds", runs[~held])) if len(part))
    if args.baseline:
        own = pd.read_csv(path) if path.exists() else runs
        split += (f"\n\nAgainst the same rows of {args.baseline} (same settings, run by run):\n\n"
                  + _markdown(paired(own, pd.read_csv(args.baseline)).round(3)))
    (out / "summary.md").write_text(
        f"`{command}`\n\nLike for like (the device x budget x seed settings every row of the strategy finished):\n\n"
        + _markdown(summary.round(3)) + "\n\nEvery finished run:\n\n" + _markdown(every.round(3)) + split + "\n")
    (out / "settings.json").write_text(json.dumps({"refine_every,batch,max": refine, "max_evals": args.max_evals}) + "\n")
    plot(summary, out / "regret_vs_measurements.png", args.space)
    print(summary.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
