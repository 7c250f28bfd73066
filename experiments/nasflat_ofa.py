"""NASFLAT on OFA/MobileNetV3 (the layer chain), where the paper has no task: hwnas's two transfer settings
over the 12 GPU tables shipped for the space (5,000 architectures each).

    python experiments/nasflat_ofa.py --samples 10,20 --seeds 3

- `gpu`: each batch-1 GPU from the other three batch-1 GPUs (a new GPU model);
- `batch`: v100 and titan_xp at batch 64 from the four batch-1 GPUs (a new batch size).
Per target: `nasflat` (default settings, pre-training cached per source set), `best_source` (the source table
that ranks the same samples best) and `mean_source` (the mean of the source tables' ranks; no samples).
Spearman over all 5,000 architectures; writes experiments/results/nasflat/ofa.{csv,md}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from hwnas.data import devices
from hwnas.predictors.nasflat import NasflatOracle
from hwnas.predictors.nasflat_train import best_source

OUT = Path(__file__).resolve().parent / "results" / "nasflat"
SPACE = "ofa_mbv3"
GPUS = ("2080ti", "titan_rtx", "titan_xp", "v100")
SETTINGS = {
    "gpu": [(f"{g}_1", [f"{o}_1" for o in GPUS if o != g]) for g in GPUS],
    "batch": [(f"{g}_64", [f"{o}_1" for o in GPUS]) for g in ("v100", "titan_xp")],
}


def rows(setting: str, target: str, sources: list[str], samples: int, seed: int, space,
         ensemble: int | None = None, source_mix: bool = False) -> list[dict]:
    """nasflat, and from the same transfers its paper and blend read-outs (`oracle.readout`) and with the source mix
    on `nasflat_mix` (`_e<k>` when `ensemble` is given); best_source and mean_source; one target, sample count and
    seed."""
    truth = devices.latency_ms(SPACE, target)
    started = time.perf_counter()
    oracle = NasflatOracle(space, target, samples=samples, seed=seed, sources=sources, source_mix=source_mix,
                           readout="stacked", **({} if ensemble is None else {"ensemble": ensemble}))
    refs = oracle.reference_archs()
    measured = truth[space.table_index(refs)]
    oracle.adapt(refs, measured)
    seconds = time.perf_counter() - started
    tables = np.stack([devices.latency_ms(SPACE, s) for s in sources])
    pick, _ = best_source(tables[:, space.table_index(refs)], measured)
    base = {"setting": setting, "target": target, "sources": " ".join(sources), "samples": samples, "seed": seed}
    suffix = "" if ensemble is None else f"_e{ensemble}"
    stacked, paper = oracle.table_ms_without_mix(), oracle.paper_readout_ms()
    out = [dict(base, method=method + suffix, seconds=round(seconds, 2), spearman=spearmanr(pred, truth).statistic)
           for method, pred in (("nasflat", stacked), ("nasflat_paper", paper),
                                ("nasflat_blend", np.sqrt(stacked * paper)))]     # the read-outs of one transfer
    if source_mix:
        out.append(dict(base, method="nasflat_mix" + suffix, seconds=round(seconds, 2),
                        spearman=spearmanr(oracle.predict_ms(space.table_archs()), truth).statistic))
    return out + [
            dict(base, method="best_source", spearman=spearmanr(tables[pick], truth).statistic, seconds=0.0),
            dict(base, method="mean_source",
                 spearman=spearmanr(np.mean([rankdata(t) for t in tables], 0), truth).statistic, seconds=0.0)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default="10,20")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ensemble", type=int, default=None,
                        help="nasflat pre-trainings (oracle.ensemble); rows named nasflat_e<k>, added to ofa.csv")
    parser.add_argument("--source-mix", action="store_true",
                        help="nasflat with oracle.source_mix, as nasflat_mix, beside nasflat from the same transfers")
    parser.add_argument("--report-only", action="store_true", help="rebuild ofa.md from ofa.csv")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        space = devices.search_space(SPACE)
        out = []
        for setting, pairs in SETTINGS.items():
            for target, sources in pairs:
                for samples in (int(s) for s in args.samples.split(",")):
                    for seed in range(args.seeds):
                        run = rows(setting, target, sources, samples, seed, space, args.ensemble, args.source_mix)
                        out += run
                        print([r for r in run if r["method"].startswith("nasflat")], flush=True)
        frame = pd.DataFrame(out)
        if (OUT / "ofa.csv").is_file():     # a re-run replaces the rows it repeats and keeps the others
            frame = pd.concat([pd.read_csv(OUT / "ofa.csv"), frame]).drop_duplicates(
                ["setting", "target", "samples", "seed", "method"], keep="last")
        frame.to_csv(OUT / "ofa.csv", index=False)
    runs = pd.read_csv(OUT / "ofa.csv")
    table = runs.groupby(["setting", "target", "samples", "method"])["spearman"].mean().unstack("method").round(3)
    lines = ["| setting | target | samples | " + " | ".join(table.columns) + " |", "|---" * (3 + len(table.columns)) + "|"]
    lines += ["| " + " | ".join(map(str, key)) + " | " + " | ".join(f"{v:.3f}" for v in row) + " |"
              for key, row in zip(table.index, table.to_numpy())]
    (OUT / "ofa.md").write_text(
        f"# NASFLAT on OFA/MobileNetV3\n\n`python experiments/nasflat_ofa.py --samples {args.samples} --seeds "
        f"{args.seeds}`: mean Spearman over {runs['seed'].nunique()} seeds, all 5,000 architectures.\n\n"
        + "\n".join(lines) + "\n")
    print(table.to_string())


if __name__ == "__main__":
    main()
