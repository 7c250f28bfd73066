"""How far NASFLAT's fine-tuning moves the network on NB201: the paper's NB201 setting (lr 1e-4, 20 epochs) against
its FBNet one (1e-3, 30; hwnas's default on every space since the fifth version, docs/nasflat_studies.md).

    python experiments/nasflat_finetune_shift.py --seeds 3

Per target and seed (10 samples by default), for the oracle's first pre-training: Spearman over the whole table
between the score before the transfer (the target's starting embedding) and after it (the embedding fit, then the
fine-tuning; 1.0: the order did not move), and each score's Spearman with the target's measured latencies.
Writes experiments/results/nasflat/finetune_shift.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.predictors.nasflat import NasflatOracle

OUT = Path(__file__).resolve().parent / "results" / "nasflat"
SETTINGS = {"paper NB201 (1e-4 x 20)": (1e-4, 20), "FBNet's, default (1e-3 x 30)": (1e-3, 30)}
TARGETS = (("pixel3", 2), ("eyeriss", 5), ("raspi4", 0), ("gold_6226", 0))


def shift(device: str, task: int, samples: int, seed: int, lr: float, epochs: int) -> dict:
    space = devices.search_space("nasbench201")
    oracle = NasflatOracle(space, device, samples=samples, seed=seed, task=task, ensemble=1, transfer_lr=lr,
                           transfer_epochs=epochs)
    refs = oracle.reference_archs()
    truth = devices.latency_ms(space.name, device)
    oracle.adapt(refs, truth[space.table_index(refs)])
    measured = np.isfinite(truth)
    # the read-out's first two inputs over the table: the start score and the fine-tuned one, already computed
    before, after = oracle.members[0].table_features[:, :2].T
    return {"before_vs_after": spearmanr(before, after).statistic,
            "before_vs_truth": spearmanr(before[measured], truth[measured]).statistic,
            "after_vs_truth": spearmanr(after[measured], truth[measured]).statistic}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args(argv)
    rows = [{"target": f"{device} (task {task})", "setting": name, "seed": seed,
             **shift(device, task, args.samples, seed, lr, epochs)}
            for device, task in TARGETS for name, (lr, epochs) in SETTINGS.items() for seed in range(args.seeds)]
    frame = pd.DataFrame(rows).groupby(["target", "setting"], sort=False)[
        ["before_vs_after", "before_vs_truth", "after_vs_truth"]].mean()
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["| target | fine-tuning | before vs after | before vs measured | after vs measured |",
             "|---|---|---|---|---|"]
    lines += [f"| {target} | {setting} | " + " | ".join(f"{v:.3f}" for v in row) + " |"
              for (target, setting), row in zip(frame.index, frame.to_numpy())]
    text = (f"# NASFLAT fine-tuning on NB201: how far it moves the network\n\nCommand: `python "
            f"experiments/nasflat_finetune_shift.py --seeds {args.seeds} --samples {args.samples}`. First pre-training "
            "only; Spearman over the whole table, mean over seeds.\n\n" + "\n".join(lines) + "\n")
    (OUT / "finetune_shift.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
