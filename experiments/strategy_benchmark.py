"""Strategy benchmark: anytime regret of random, regularized evolution, REINFORCE, TPE and GP on
NAS-Bench-201 CIFAR-10 with the `lut` oracle on pixel3, raspi4 and fpga, budgets at the 25th and 50th
latency percentile. Median and inter-quartile range over seeds; a table at 100/300/500 evaluations and
one PNG per device.

    python experiments/strategy_benchmark.py                       # the full grid (long: see --help)
    python experiments/strategy_benchmark.py --strategies gp --seeds 3 --max-evals 100
    python experiments/strategy_benchmark.py --report-only         # table + plots from finished runs
    python experiments/strategy_benchmark.py --no-screen           # every proposal evaluated (the old rule)

By default the loop screens (as `hwnas search` does): a proposal the table puts over budget is not
evaluated for accuracy and does not count as an evaluation. `--no-screen` runs are kept apart.

Each finished run is appended to results/strategies/curves_<strategy>.jsonl (a `--set` variant's to
curves_<strategy>_<variant>.jsonl; older variant runs stay where they were written), so an interrupted
benchmark continues where it stopped and a strategy can be run with fewer seeds or evaluations.
Strategies are built from their shipped YAML files in conf/strategy/ (Optuna ones in memory).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas.evaluators.nb201_accuracy import nb201_accuracy  # noqa: E402

from hwnas.data import devices  # noqa: E402
from hwnas.engine.journal import Journal  # noqa: E402
from hwnas.engine.session import Session  # noqa: E402

OUT = ROOT / "experiments" / "results" / "strategies"
STRATEGIES = ("random", "evolution", "reinforce", "tpe", "gp")
DEVICES = ("pixel3", "raspi4", "fpga")
PERCENTILES = (25, 50)
CHECKPOINTS = (100, 300, 500)


def setting(device: str, percentile: int) -> tuple[float, float]:
    """(budget_ms, constrained optimum accuracy) for a device and latency percentile."""
    latency = devices.latency_ms("nasbench201", device)
    budget_ms = float(np.nanpercentile(latency, percentile))
    accuracy = nb201_accuracy("cifar10", 200)
    return budget_ms, float(accuracy[latency <= budget_ms].max())


def run_one(strategy: str, device: str, percentile: int, seed: int, max_evals: int, screen: bool = True,
            overrides: tuple[str, ...] = ()) -> dict:
    """One search; returns the best feasible accuracy after each distinct evaluation. `overrides`
    (dotlist, e.g. `sampler.max_trials=null`) change the shipped YAML: the run is a named variant."""
    budget_ms, _ = setting(device, percentile)
    started = time.perf_counter()
    session = Session.compose("search", [
        f"strategy={strategy}", f"device={device}", f"budget_ms={budget_ms!r}", f"seed={seed}",
        f"max_evals={max_evals}", f"screen={str(screen).lower()}", "max_stale_trials=5000", "progress=false",
        *(f"strategy.{item}" for item in overrides)])
    records = session.search()["records"]
    ledger = session.ledger
    best = np.full(max_evals, np.nan)
    for record in records:
        if record["new"] and record["best_feasible_accuracy"] is not None:
            best[record["evaluations"] - 1] = record["best_feasible_accuracy"]
    return {"strategy": strategy, "variant": " ".join(overrides), "screen": screen, "device": device, "percentile": percentile, "budget_ms": budget_ms,
            "seed": seed, "screened": ledger.screened, "max_evals": max_evals, "trials": len(records),
            "evaluations": ledger.evaluations, "seconds": time.perf_counter() - started,
            "best": [None if not np.isfinite(v) else float(v) for v in _forward_fill(best[:ledger.evaluations])]}


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward (NaN stays until the first one)."""
    index = np.where(np.isfinite(values), np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    if len(values):
        filled[: int(np.argmax(np.isfinite(values))) if np.isfinite(values).any() else len(values)] = np.nan
    return filled


def regret_matrix(runs: list[dict], max_evals: int) -> np.ndarray:
    """(seeds, evals) regret; before any feasible find, regret is the optimum itself (accuracy 0)."""
    out = np.full((len(runs), max_evals), np.nan)
    for i, run in enumerate(runs):
        _, optimum = setting(run["device"], run["percentile"])
        best = np.array([np.nan if v is None else v for v in run["best"]], dtype=float)[:max_evals]
        regret = optimum - np.where(np.isfinite(best), best, 0.0)
        out[i, : len(regret)] = regret
        if 0 < len(regret) < min(max_evals, run["max_evals"]):  # stopped early (patience ran out): its result stays
            out[i, len(regret): run["max_evals"]] = regret[-1]
    return out  # NaN beyond a run's own max_evals: medians at a checkpoint use the runs that reached it


NO_SCREEN = " (no screen)"


def label(run: dict) -> str:
    """Strategy name with its variant's overrides, marked when every proposal was evaluated (runs from
    before screening had no flag)."""
    variant = f" [{run['variant']}]" if run.get("variant") else ""
    return run["strategy"] + variant + ("" if run.get("screen", False) else NO_SCREEN)


def order(name: str) -> tuple:
    """Table order: screened first, then by strategy as listed in STRATEGIES, shipped config before variants."""
    strategy = name.split(" ")[0]
    return (name.endswith(NO_SCREEN), STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES), name)


def curves_path(strategy: str, variant: str) -> Path:
    """Where a strategy's runs are appended; a variant's in a file of its own (keeps each file small)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", variant).strip("-")
    return OUT / (f"curves_{strategy}_{slug}.jsonl" if slug else f"curves_{strategy}.jsonl")


def load_runs() -> list[dict]:
    """Every finished run; of several runs of one (strategy, rule, setting, seed), the longest."""
    longest: dict[tuple, dict] = {}
    for path in sorted(OUT.glob("curves_*.jsonl")):
        for run in Journal(path).read():
            key = (label(run), run["device"], run["percentile"], run["seed"])
            if key not in longest or run["max_evals"] > longest[key]["max_evals"]:
                longest[key] = run
    return list(longest.values())


def report(runs: list[dict]) -> str:
    """Markdown table of median regret at the checkpoints, and one PNG per device."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((label(run), run["device"], run["percentile"]), []).append(run)
    names = sorted({k[0] for k in groups}, key=order)
    lines = ["| device | budget | strategy | seeds | evals run | " + " | ".join(f"median regret @{c}" for c in CHECKPOINTS)
             + " | IQR @300 |", "|---|---|---|---|---|" + "---|" * len(CHECKPOINTS) + "---|"]
    for device in DEVICES:
        fig, axes = plt.subplots(1, len(PERCENTILES), figsize=(11, 4), sharey=False)
        for ax, percentile in zip(np.atleast_1d(axes), PERCENTILES):
            budget_ms, optimum = setting(device, percentile)
            for name in names:
                group = groups.get((name, device, percentile))
                if not group:
                    continue
                horizon = max(r["max_evals"] for r in group)
                regret = regret_matrix(group, horizon)
                median = np.nanmedian(regret, axis=0)
                low, high = np.nanpercentile(regret, [25, 75], axis=0)
                x = np.arange(1, horizon + 1)
                line, = ax.plot(x, median, label=f"{name} ({len(group)} seeds)",
                                linestyle=":" if name.endswith(NO_SCREEN) else "-")
                if not name.endswith(NO_SCREEN):
                    ax.fill_between(x, low, high, alpha=0.2, color=line.get_color())
                reached = [int(np.isfinite(regret[:, c - 1]).sum()) if c <= horizon else 0 for c in CHECKPOINTS]
                cells = [f"{median[c - 1]:.3f}" + ("" if n == len(group) else f" ({n} seeds)") if n else "-"
                         for c, n in zip(CHECKPOINTS, reached)]
                iqr = f"{low[299]:.3f}–{high[299]:.3f}" if horizon >= 300 else "-"
                lines.append(f"| {device} | p{percentile} = {budget_ms:.3g} ms | {name} | {len(group)} | {horizon} | "
                             + " | ".join(cells) + f" | {iqr} |")
            ax.set(title=f"{device}, budget p{percentile} = {budget_ms:.3g} ms (optimum {optimum:.2f} %)",
                   xlabel="distinct architectures evaluated", ylabel="regret (accuracy points)", yscale="symlog")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(OUT / f"regret_{device}.png", dpi=110)
        plt.close(fig)
    table = "\n".join(lines) + "\n\n" + targets(groups)
    (OUT / "regret_table.md").write_text(table + "\n")
    return table


def targets(groups: dict[tuple, list[dict]], at: int = 300) -> str:
    """Issue 3's targets at `at` evaluations, per screening rule: settings where the best non-random
    strategy's median regret is <= 0.1, and settings where each strategy beats random's median."""
    out = []
    for suffix in ("", NO_SCREEN):
        medians: dict[str, dict] = {}
        for (name, device, percentile), group in groups.items():
            if (name.endswith(NO_SCREEN) != bool(suffix) or "[" in name  # targets: shipped configs only
                    or max(r["max_evals"] for r in group) < at):
                continue
            medians.setdefault(name, {})[(device, percentile)] = float(np.nanmedian(regret_matrix(group, at)[:, at - 1]))
        random = medians.get(f"random{suffix}", {})
        others = {n: m for n, m in medians.items() if n != f"random{suffix}"}
        settings = sorted({k for m in others.values() for k in m})
        met = [k for k in settings if min(m[k] for m in others.values() if k in m) <= 0.1]
        rule = "screened" if not suffix else "no screen"
        out.append(f"- {rule}: best non-random median regret <= 0.1 at {at} evaluations in {len(met)} of "
                   f"{len(settings)} settings ({', '.join(f'{d} p{p}' for d, p in met) or 'none'})")
        for name, m in sorted(others.items()):
            beats = sum(1 for k, v in m.items() if k in random and v < random[k])
            out.append(f"  - {name}: beats random's median in {beats} of {sum(k in random for k in m)} settings")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--devices", nargs="+", default=list(DEVICES), choices=DEVICES)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. seeds-1 (split a run)")
    parser.add_argument("--max-evals", type=int, default=500)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                        help="a variant of the shipped strategy YAML, e.g. --set sampler.max_trials=null")
    parser.add_argument("--no-screen", dest="screen", action="store_false",
                        help="evaluate every proposal, also those the table puts over budget")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for strategy in args.strategies:
            variant = " ".join(args.overrides)
            done = {(r["device"], r["percentile"], r["seed"]) for path in OUT.glob(f"curves_{strategy}*.jsonl")
                    for r in Journal(path).read()
                    if r["strategy"] == strategy and r["max_evals"] >= args.max_evals
                    and r.get("screen", False) == args.screen and r.get("variant", "") == variant}
            journal = Journal(curves_path(strategy, variant))
            for seed in range(args.first_seed, args.seeds):
                for device in args.devices:
                    for percentile in PERCENTILES:
                        if (device, percentile, seed) in done:
                            continue
                        run = run_one(strategy, device, percentile, seed, args.max_evals, args.screen,
                                      tuple(args.overrides))
                        journal.append([run])
                        print(f"{strategy:>9} {device:>6} p{percentile} seed {seed:2d}: regret@end "
                              f"{setting(device, percentile)[1] - (run['best'][-1] or 0):.3f} "
                              f"({run['trials']} trials, {run['seconds']:.1f} s)", flush=True)
            journal.close()
    print(report(load_runs()))


if __name__ == "__main__":
    main()
