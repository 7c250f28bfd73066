"""Strategy overhead per ask/tell with 500 evaluations done (NB201, pixel3, lut values).

Each strategy is told 500 distinct random NB201 architectures (its history), then timed over the
next asks and tells; the oracle is not part of the time. Optuna strategies are timed in memory and
with the default SQLite storage.

    python experiments/strategy_overhead.py [--history 500] [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas import data, devices  # noqa: E402
from hwnas.config import conf_dir, instantiate  # noqa: E402
from hwnas.strategy import Trial  # noqa: E402
from search_spaces.nasbench201 import NasBench201  # noqa: E402

OUT = ROOT / "experiments" / "results" / "strategies"
TARGET_MS = {"evolution": 2, "reinforce": 2, "tpe": 30, "gp": 300}


def measure(name: str, history: int, repeats: int, storage: str | None, **options) -> float:
    """Median milliseconds of one ask(1) + tell(1) after `history` told trials."""
    space = NasBench201()
    latency, accuracy = devices.latency_ms("nasbench201", "pixel3"), data.nb201_accuracy("cifar10")
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
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        arch = strategy.ask(1)[0]
        row = int(space.index([arch])[0])
        strategy.tell([Trial(arch, float(accuracy[row]), float(latency[row]), float(latency[row] - budget_ms))])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--strategies", nargs="+", default=["random", "evolution", "reinforce", "tpe", "gp", "nsga2"])
    args = parser.parse_args(argv)
    lines = [f"| strategy | storage | median ms per ask+tell after {args.history} | target ms |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.strategies:
            optuna_backed = "storage" in OmegaConf.load(conf_dir() / "strategy" / f"{name}.yaml")
            for storage in ([None, f"sqlite:///{tmp}/{name}.db"] if optuna_backed else [None]):
                repeats = max(3, args.repeats // 4) if name == "gp" else args.repeats
                ms = measure(name, args.history, repeats, storage)
                where = "-" if not optuna_backed else ("in memory" if storage is None else "SQLite")
                lines.append(f"| {name} | {where} | {ms:.2f} | {TARGET_MS.get(name, '-')} |")
                print(lines[-1], flush=True)
                if optuna_backed and storage is None:  # the sampler alone, without re-asking on repeats
                    ms = measure(name, args.history, repeats, None, max_repeats=0)
                    lines.append(f"| {name} (max_repeats=0) | in memory | {ms:.2f} | {TARGET_MS.get(name, '-')} |")
                    print(lines[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
