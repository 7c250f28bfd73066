"""Why NASFLAT's stacked read-out ranked essential_ph_1 badly at 10 samples: per run, the ridge weights
fitted without and with the non-negativity constraint, and the whole-table Spearman of each.

    python experiments/nasflat_readout.py --device essential_ph_1 --task 4 --samples 5,10,20 --seeds 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle  # noqa: E402
from hwnas.predictors.nasflat_train import ridge_fit  # noqa: E402

INPUTS = "start score, fine-tuned score (out-of-fold), kernel share, log FLOPs"


def unconstrained_fit(features: np.ndarray, log_ms: np.ndarray, lam: float = 1e-2):
    """The read-out before the fix: ridge with weights of any sign (same standardisation and penalty)."""
    mu, sd = features.mean(0), features.std(0) + 1e-9
    z = (features - mu) / sd
    w = np.linalg.solve(z.T @ z + lam * len(z) * np.eye(z.shape[1]), z.T @ (log_ms - log_ms.mean()))
    return w, lambda x: ((x - mu) / sd) @ w + log_ms.mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="fbnet")
    parser.add_argument("--device", default="essential_ph_1")
    parser.add_argument("--task", type=int, default=4)
    parser.add_argument("--samples", default="5,10,20")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = devices.search_space(args.space)
    truth = devices.latency_ms(args.space, args.device)
    measured = np.isfinite(truth)
    print(f"inputs: {INPUTS}")
    for n in (int(s) for s in args.samples.split(",")):
        for seed in range(args.seeds):
            oracle = NasflatOracle(space, args.device, samples=n, seed=seed, task=args.task)
            refs = oracle.reference_archs()
            oracle.adapt(refs, truth[np.asarray(space.table_index(refs))])
            features, log_ms = oracle.readout_inputs
            table = oracle._table_features
            w_free, free = unconstrained_fit(features, log_ms)
            fixed = ridge_fit(features, log_ms)
            rho = [spearmanr(f(table)[measured], truth[measured]).statistic for f in (free, fixed)]
            inputs = [spearmanr(table[measured, j], truth[measured]).statistic for j in range(table.shape[1])]
            print(f"samples {n} seed {seed} source {oracle.chosen_source}: any-sign weights {np.round(w_free, 2)} "
                  f"-> {rho[0]:.3f}; non-negative -> {rho[1]:.3f}; inputs' own Spearman {np.round(inputs, 3)}",
                  flush=True)


if __name__ == "__main__":
    main()
