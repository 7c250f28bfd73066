"""How many GP calls a screened search makes, and how many of them only repeat an earlier proposal made
with the same complete trials, with `reask_unchanged` true and false (NB201, `lut` oracle).

    OMP_NUM_THREADS=1 python experiments/gp_sampler_calls.py [--device raspi4] [--budget-ms 20] [--evals 25] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwnas.engine.loop import run_search  # noqa: E402
from hwnas.engine.session import Session  # noqa: E402


def run(device: str, budget_ms: float, evals: int, seed: int, reask_unchanged: bool) -> str:
    session = Session.compose("search", ["strategy=gp", f"device={device}", f"budget_ms={budget_ms!r}",
                                         f"seed={seed}", f"strategy.reask_unchanged={str(reask_unchanged).lower()}"])
    strategy = session.strategy()
    calls: dict[int, list] = defaultdict(list)   # complete trials at the call -> proposals
    ask_sampler = strategy._ask_sampler

    def counted():
        handle = ask_sampler()
        complete = len(strategy.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        calls[complete].append(strategy._arch(handle))
        return handle

    strategy._ask_sampler = counted
    started = time.perf_counter()
    result = run_search(session.space, strategy, session.oracle, session.evaluator, session.constraint, evals,
                        session.ledger, max_stale_trials=5000, screen=True)
    seconds = time.perf_counter() - started
    total = sum(len(v) for v in calls.values())
    repeated = sum(len(v) - len(set(v)) for v in calls.values())
    return (f"| {str(reask_unchanged).lower()} | {total} | {repeated} | {len(result.records)} | "
            f"{result.best['accuracy']:.2f} | {seconds:.1f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="raspi4")
    parser.add_argument("--budget-ms", type=float, default=20.0)
    parser.add_argument("--evals", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print("| reask_unchanged | GP calls | of which repeat a proposal of unchanged data | trials | best accuracy | seconds |")
    print("|---|---|---|---|---|---|")
    for reask in (True, False):
        print(run(args.device, args.budget_ms, args.evals, args.seed, reask), flush=True)


if __name__ == "__main__":
    main()
