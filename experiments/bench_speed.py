"""Speed benchmark for the foundation: batched oracle query, search-loop throughput, CLI start-up, and
building + running the largest FBNet and OFA networks (one thread; target < 1 s each).

    python experiments/bench_speed.py            # prints a table, writes experiments/results/speed.json
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.engine.ledger import CostLedger  # noqa: E402
from hwnas.engine.loop import run_search  # noqa: E402
from hwnas.predictors.lut import LookupTable  # noqa: E402
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy  # noqa: E402
from hwnas.search_spaces.nasbench201 import NasBench201  # noqa: E402
from hwnas.strategies.evolution import RegularizedEvolution  # noqa: E402
from hwnas.strategies.random_search import RandomSearch  # noqa: E402


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> dict:
    space = NasBench201()
    oracle = LookupTable(space, "pixel3")
    evaluator = NasBench201Accuracy(space)
    every_arch = space.table_archs()
    oracle.predict_ms(every_arch)  # warm caches: the benchmark times queries, not loading
    results = {"oracle_query_all_15625_ms": 1e3 * median_seconds(lambda: oracle.predict_ms(every_arch), 50)}

    for name, strategy_cls in (("random", RandomSearch), ("evolution", RegularizedEvolution)):
        def loop(cls=strategy_cls):
            strategy = cls(space, budget_ms=6.5, seed=0)
            run_search(space, strategy, oracle, evaluator, 6.5, 1000, CostLedger(), true_latency_ms=oracle._latency_ms, screen=False)
        results[f"search_1000_evals_{name}_s"] = median_seconds(loop, 5)

    def cli_help():
        subprocess.run([sys.executable, "-m", "hwnas.cli", "search", "--help"], capture_output=True, check=True)
    results["cli_search_help_s"] = median_seconds(cli_help, 3)

    import torch

    from hwnas.data.devices import search_space

    torch.set_num_threads(1)
    from hwnas.search_spaces.fbnet import OPS

    for name, arch_of in (("fbnet", lambda s: (OPS.index("k5_e6"),) * 22),
                          ("ofa_mbv3", lambda s: s.from_string("r224:" + "|".join([",".join(["k7e6"] * 4)] * 5)))):
        big = search_space(name)
        arch = arch_of(big)

        def build_and_run(big=big, arch=arch):
            with torch.inference_mode():
                big.build(arch).eval()(torch.randn(big.input_shape(arch)))
        results[f"largest_{name}_build_and_forward_s"] = median_seconds(build_and_run, 3)
    return results


if __name__ == "__main__":
    numbers = main()
    out = Path(__file__).resolve().parent / "results" / "speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(numbers, indent=2) + "\n")
    for key, value in numbers.items():
        print(f"{key:<36} {value:10.4f}")
