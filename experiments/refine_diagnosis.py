"""Where help+refine loses accuracy (issue 16): for each NB201 meta-test device x 25/50/75th-percentile budget,
one `refine=true` search, then against the device's table:

- pick_loss: best truly-feasible evaluated accuracy minus the pick's (0: verify picks the best it could);
- verify_over: verify measurements that found their candidate over budget;
- screen_gap: best truly-feasible *screened* (predicted over budget, never evaluated) accuracy minus the best
  truly-feasible evaluated one (> 0: the search proposed a better architecture and the oracle turned it away);
- bias_near / mae_near: median (absolute) relative error of the search's final predictions on the unmeasured
  architectures it saw within 25 % of the budget; bias_measured: the same on the measured ones;
- false_over / false_within: architectures it saw that are predicted over budget but within it / the reverse.

    nice -n 10 python experiments/refine_diagnosis.py --seed 0 --out experiments/results/refine/diagnosis
    nice -n 10 python experiments/refine_diagnosis.py --seed 0 --no-correction --out experiments/results/refine/diagnosis
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.engine import refine, runs
from hwnas.engine.session import Session
from refine_benchmark import DEVICES, QUANTILES, budget_ms

CAPTURED: dict = {}


class Recording(refine.Refiner):
    """The benchmark's Refiner, keeping the loop it finishes (its cache: every architecture the search saw)."""

    def finish(self, loop):
        CAPTURED.update(loop=loop, refiner=self)
        return super().finish(loop)


def diagnose(device: str, quantile: int, seed: int, strategy: str, oracle: str, extra: list[str] = ()) -> dict:
    budget = budget_ms(device, quantile)
    session = Session.compose("search", [f"oracle={oracle}", "refine=true", f"device={device}", f"budget_ms={budget!r}",
                                         f"seed={seed}", f"strategy={strategy}", "max_evals=300", "progress=false",
                                         *extra])
    summary = session.search()
    loop, refiner = CAPTURED["loop"], CAPTURED["refiner"]
    archs = list(loop.cache)
    true = session.true_latency_ms[np.asarray(session.space.table_index(archs))]
    accuracy = np.asarray(session.evaluator.accuracy(archs), dtype=float)
    evaluated = np.array([not np.isnan(v[0]) for v in loop.cache.values()])
    predicted = np.array([v[1] for v in loop.cache.values()])
    final = np.asarray(refiner.predictor.predict_ms(archs), dtype=float)
    measured = np.array([a in refiner.measured for a in archs])
    within = true <= budget
    best = lambda mask: float(accuracy[mask].max()) if mask.any() else np.nan   # noqa: E731
    relative = (final - true) / true
    near = (np.abs(true - budget) / budget < 0.25) & ~measured
    return {"device": device, "quantile": quantile, "seed": seed, "regret": summary["ground_truth"]["regret"],
            "pick_loss": best(evaluated & within) - summary["best"]["accuracy"],
            "verify_over": sum(not step["within_budget"] for step in summary["refine"]["verify_steps"]),
            "screen_gap": best(~evaluated & within) - best(evaluated & within),
            "bias_near": float(np.median(relative[near])) if near.any() else np.nan,
            "mae_near": float(np.median(np.abs(relative[near]))) if near.any() else np.nan,
            "bias_measured": float(np.median(relative[measured])),
            "false_over": int(((predicted > budget) & within).sum()),
            "false_within": int((evaluated & (predicted <= budget) & ~within).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--oracle", default="help")
    parser.add_argument("--set", default="", help="extra search overrides, comma-separated (e.g. "
                                                 "constraint_confidence=0.3)")
    parser.add_argument("--no-correction", action="store_true", help="refine without the learnt discrepancy")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "refine" / "diagnosis"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    refine.CORRECT = not args.no_correction
    runs.Refiner = Recording
    rows = []
    for device in DEVICES["nasbench201"]:
        for quantile in QUANTILES:
            rows.append(diagnose(device, quantile, args.seed, args.strategy, args.oracle,
                                 [v for v in args.set.split(",") if v]))
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = (f"{args.oracle}_{args.strategy}_seed{args.seed}_{'no_correction' if args.no_correction else 'corrected'}"
            + "".join(f"_{v.replace('=', '')}" for v in args.set.split(",") if v))
    frame.to_csv(out / f"{name}.csv", index=False)
    print(frame.round(3).to_string(index=False))
    print(frame.drop(columns=["device", "quantile", "seed"]).median().round(3).to_string())


if __name__ == "__main__":
    main()
