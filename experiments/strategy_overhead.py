"""Strategy overhead per ask/tell with 500 evaluations done (NB201, pixel3, lut values).

Each strategy is told 500 distinct random NB201 architectures (its history), then timed over the
next asks and tells; the oracle is not part of the time. Optuna strategies are timed with their default
in-memory study and with an SQLite storage (`strategy.storage=sqlite:///...`), plus variants: the sampler call alone (`repeat_fallback=none`: a
repeat proposal goes to the loop) and GP's cost levers (below). `sampler calls per ask`
counts the study's trials per ask (a repeat proposal adds one closed trial and an unseen neighbour).
GP's default fits on at most 200 trials (`sampler.max_trials`, strategies/gp_subset.py) with a lighter
acquisition optimiser (256 preliminary samples, 2 local searches); `max_trials=null` with 2048/10 is
Optuna's GPSampler as shipped.

`--busy N` runs N CPU-spinning processes while measuring (a shared machine's load). `--run-evals K`
instead times whole searches (Session: NB201, pixel3, 6.5 ms, K evaluations, seed 0) per strategy and
`--threads` value (torch intra-op threads), idle and with `--busy` load, into overhead_runs.md.

    python experiments/strategy_overhead.py [--history 500] [--repeats 20] [--strategies tpe gp] [--busy 4]
    python experiments/strategy_overhead.py --run-evals 100 --strategies gp tpe --threads 1 2 --busy 4
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas.evaluators.nb201_accuracy import nb201_accuracy  # noqa: E402

from hwnas.data import devices  # noqa: E402
from hwnas.config import conf_dir, instantiate  # noqa: E402
from hwnas.core.strategy import Trial  # noqa: E402
from hwnas.search_spaces.nasbench201 import NasBench201  # noqa: E402

OUT = ROOT / "experiments" / "results" / "strategies"
TARGET_MS = {"evolution": 2, "reinforce": 2, "tpe": 30, "gp": 300}
OPTUNA_ACQF = {"n_preliminary_samples": 2048, "n_local_search": 10}   # GPSampler's own acquisition settings
VARIANTS = {  # extra in-memory rows per Optuna strategy: (label, options)
    "tpe": [("repeat_fallback=none", {"repeat_fallback": "none"})],
    "gp": [("repeat_fallback=none", {"repeat_fallback": "none"}),
           ("acquisition 2048/10 (Optuna's)", {"sampler_settings": OPTUNA_ACQF}),
           ("max_trials=100", {"sampler": {"max_trials": 100}}),
           ("max_trials=null", {"sampler": {"max_trials": None}}),
           ("max_trials=null, acquisition 2048/10: Optuna's GPSampler", {"sampler": {"max_trials": None},
                                                                        "sampler_settings": OPTUNA_ACQF})],
}


def measure(name: str, history: int, repeats: int, storage: str | None,
            **options) -> tuple[float, float, float | None]:
    """Median wall and CPU milliseconds of one ask(1) + tell(1) after `history` told trials (the first ask,
    which imports and warms up, is not timed; CPU time does not grow with the machine's load), and the
    study's trials per ask (None: not an Optuna strategy)."""
    space = NasBench201()
    latency, accuracy = devices.latency_ms("nasbench201", "pixel3"), nb201_accuracy("cifar10")
    budget_ms = 6.5
    node = OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml")
    if "storage" in node:
        node.storage = storage
    node = OmegaConf.merge(node, options)
    strategy = instantiate(node, "strategy", space=space, budget_ms=budget_ms, seed=0)
    rows = np.random.default_rng(0).permutation(len(latency))[:history]
    archs = space.from_index(rows)
    strategy.tell([Trial(a, float(accuracy[r]), float(latency[r]), float(latency[r] - budget_ms))
                   for a, r in zip(archs, rows)])

    def step() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        arch = strategy.ask(1)[0]
        row = int(space.index([arch])[0])
        strategy.tell([Trial(arch, float(accuracy[row]), float(latency[row]), float(latency[row] - budget_ms))])
        return time.perf_counter() - start, time.process_time() - cpu

    step()
    study = getattr(strategy, "study", None)
    before = len(study.get_trials(deepcopy=False)) if study is not None else 0
    times = [step() for _ in range(repeats)]
    per_ask = (len(study.get_trials(deepcopy=False)) - before) / repeats if study is not None else None
    strategy.close()
    return 1000 * float(np.median([t[0] for t in times])), 1000 * float(np.median([t[1] for t in times])), per_ask


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy(n: int):
    """`n` processes that keep a CPU core busy each, for the block's duration."""
    workers = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(n)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def run_seconds(name: str, evals: int, threads: int) -> float:
    """Wall seconds of one whole search (set-up excluded) in a fresh process with `threads` torch threads."""
    code = ("import time; from hwnas.engine.session import Session; "
            f"s = Session.compose('search', ['strategy={name}', 'device=pixel3', 'budget_ms=6.5', "
            f"'max_evals={evals}', 'seed=0', 'threads={threads}']); s.space; s.evaluator; "
            "t = time.perf_counter(); s.search(); print(time.perf_counter() - t)")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


def runs(args) -> None:
    lines = [f"| strategy | evaluations | threads | load processes | run seconds | x idle |", "|---|---|---|---|---|---|"]
    for name in args.strategies:
        for threads in args.threads:
            idle = None
            for load in sorted({0, args.busy}):
                with busy(load):
                    before = os.getloadavg()[0]
                    seconds = run_seconds(name, args.run_evals, threads)
                idle = seconds if load == 0 else idle
                lines.append(f"| {name} | {args.run_evals} | {threads} | {load} | {seconds:.1f} | "
                             f"{seconds / idle:.2f} |")
                print(lines[-1], f"(load average before: {before:.1f})", flush=True)
    lines += ["", f"Background: 1-minute load average {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs; "
              "'load processes' are CPU spinners added by --busy."]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "overhead_runs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--strategies", nargs="+", default=["random", "evolution", "reinforce", "tpe", "gp", "nsga2"])
    parser.add_argument("--busy", type=int, default=0, help="CPU-spinning processes while measuring")
    parser.add_argument("--run-evals", type=int, default=0, help="time whole searches of this many evaluations")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch threads of whole searches")
    args = parser.parse_args(argv)
    if args.run_evals:
        runs(args)
        return
    with busy(args.busy):
        table(args)


def table(args) -> None:
    lines = [f"| strategy | storage | variant | median ms per ask+tell after {args.history} | CPU ms "
             "| study trials per ask | target ms |", "|---|---|---|---|---|---|---|"]

    def row(name: str, where: str, variant: str, result: tuple[float, float, float | None]) -> None:
        ms, cpu_ms, per_ask = result
        lines.append(f"| {name} | {where} | {variant} | {ms:.2f} | {cpu_ms:.2f} | "
                     f"{'-' if per_ask is None else f'{per_ask:.2f}'} "
                     f"| {TARGET_MS.get(name, '-')} |")
        print(lines[-1], flush=True)

    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.strategies:
            optuna_backed = "storage" in OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml")
            repeats = max(3, args.repeats // 4) if name == "gp" else args.repeats
            if not optuna_backed:
                row(name, "-", "default", measure(name, args.history, repeats, None))
                continue
            row(name, "in memory (default)", "default", measure(name, args.history, repeats, None))
            for label, options in VARIANTS.get(name, []):
                row(name, "in memory", label, measure(name, args.history, repeats, None, **options))
            row(name, "SQLite", "default", measure(name, args.history, repeats, f"sqlite:///{tmp}/{name}.db"))
            loads.append(os.getloadavg()[0])
    loads.append(os.getloadavg()[0])
    lines += ["", f"1-minute load average during the run: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs "
              f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {args.busy} busy processes added)."]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
