"""Which target samples serve `oracle=nasflat` best: NASFLAT's sampler against three alternatives, on the paper's
transfer tasks, with everything else the oracle's defaults.

    python experiments/nasflat_sampler.py --space nb201 --tasks 0 --samples 10 --seeds 10

Samplers (each picks `samples` of the architectures the target has measured, seeded):
- `kmeans_cosine`: NASFLAT's (Akhauri & Abdelfattah 2024), `oracle.reference_archs()`: one random member of each of
  n//2 k-means clusters of the one-hot encodings plus one per bucket of the mean-cosine order;
- `kmeans_medoid`: the same, but each cluster gives the member nearest its centre (a deterministic coreset);
- `latency_strata`: one random pick per equal bucket of the sources' mean standardised log latency, so the samples
  span the latency range the source devices see;
- `random`: uniform;
- `help_references`: HELP's 10 fixed reference architectures (NB201, FBNet; Lee et al. 2021), the samples `help` adapts
  on, so NASFLAT and HELP can be compared on the same measurements.
Spearman over every architecture each target has measured; writes experiments/results/nasflat/sampler_<space><tag>.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nasflat_tasks import OUT, SPACES, plan  # noqa: E402

from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle  # noqa: E402
from hwnas.predictors.nasflat_train import cosine_picks, kmeans  # noqa: E402

SAMPLERS = ("kmeans_cosine", "kmeans_medoid", "latency_strata", "random", "help_references")


def kmeans_medoid(encodings: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n//2 k-means clusters, each at the member nearest its centre, plus one random pick per bucket of the
    mean-cosine order (NASFLAT's second half)."""
    rng = np.random.default_rng(seed)
    labels = kmeans(encodings, n // 2, rng)
    chosen = []
    for c in range(n // 2):
        members = np.flatnonzero(labels == c)
        if len(members):
            centre = encodings[members].mean(0)
            chosen.append(int(members[np.argmin(((encodings[members] - centre) ** 2).sum(1))]))
    return np.asarray(chosen + cosine_picks(encodings, chosen, n - len(chosen), rng))


def latency_strata(source_log_ms: np.ndarray, n: int, seed: int) -> np.ndarray:
    """One random pick per equal bucket of the architectures sorted by the sources' mean standardised log ms
    (`source_log_ms`: architectures x sources)."""
    z = (source_log_ms - source_log_ms.mean(0)) / source_log_ms.std(0)
    rng = np.random.default_rng(seed)
    return np.array([int(rng.choice(bucket)) for bucket in np.array_split(np.argsort(z.mean(1), kind="stable"), n)])


def picks(sampler: str, oracle: NasflatOracle, space, candidates: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Table rows of the `sampler`'s samples among `candidates` (the rows the target has measured)."""
    if sampler == "kmeans_cosine":
        return np.asarray(space.table_index(oracle.reference_archs()))
    if sampler == "help_references":
        rows = np.asarray(space.reference_rows().rows)
        if len(rows) != n:
            sys.exit(f"error: help_references are HELP's {len(rows)} references of {space.name}; run them with "
                     f"--samples {len(rows)}, not {n}")
        if not np.isin(rows, candidates).all():
            sys.exit(f"error: help_references: HELP's references are not all measured on {oracle.device}")
        return rows
    if sampler == "random":
        return np.random.default_rng(seed).choice(candidates, size=n, replace=False)
    if sampler == "kmeans_medoid":
        encodings = space.encode(np.asarray(space.table_archs())[candidates], "onehot").astype(float)
        return candidates[kmeans_medoid(encodings, n, seed)]
    sources = np.log(np.stack([devices.latency_ms(space.name, s)[candidates] for s in oracle.sources], 1))
    return candidates[latency_strata(sources, n, seed)]


def summary(frame: pd.DataFrame) -> str:
    """Per task and sample count: each sampler's mean over targets, then mean ± std over seeds; per target."""
    lines = ["| task | samples | sampler | seeds | Spearman | per target |", "|---|---|---|---|---|---|"]
    for (task, n, sampler), part in frame.groupby(["task", "samples", "sampler"], sort=True):
        per_seed = part.groupby("seed")["spearman"].mean()
        per_device = part.groupby("device", sort=False)["spearman"].mean()
        lines.append(f"| {task} | {n} | {sampler} | {len(per_seed)} | {per_seed.mean():.3f} ± {per_seed.std(ddof=0):.3f}"
                     f" | {', '.join(f'{d} {v:.3f}' for d, v in per_device.items())} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=list(SPACES), default="nb201")
    parser.add_argument("--tasks", default="0", help="comma-separated task ids")
    parser.add_argument("--targets", default=None, help="comma-separated target devices (default: the task's)")
    parser.add_argument("--samples", default="10")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--samplers", default=",".join(SAMPLERS[:4]), help=f"of {', '.join(SAMPLERS)}")
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    samplers = args.samplers.split(",")
    unknown = sorted(set(samplers) - set(SAMPLERS))
    if unknown:
        sys.exit(f"error: unknown sampler {unknown[0]!r}; choose from {', '.join(SAMPLERS)}")
    torch.set_num_threads(1)
    space = devices.search_space(SPACES[args.space])
    tasks = {int(t) for t in args.tasks.split(",")}
    command = " ".join(["python experiments/nasflat_sampler.py"] + (argv if argv is not None else sys.argv[1:]))
    started, rows = time.perf_counter(), []
    for item in plan(space, args.space):
        if not item["covered"] or item["task"] not in tasks:
            continue
        targets = [t for t in item["targets"] if args.targets is None or t in args.targets.split(",")]
        for device in targets:
            truth = devices.latency_ms(space.name, device)
            measured = np.isfinite(truth)
            candidates = np.flatnonzero(measured)
            for n in (int(s) for s in args.samples.split(",")):
                for seed in range(args.seeds):
                    # the stacked read-out the documented figures used (NB201's default is blend + mix since stop 29)
                    oracle = NasflatOracle(space, device, samples=n, seed=seed, task=item["task"], readout="stacked",
                                           source_mix=False)
                    for sampler in samplers:
                        chosen = picks(sampler, oracle, space, candidates, n, seed)
                        oracle.adapt(np.asarray(space.table_archs())[chosen], truth[chosen])
                        rho = spearmanr(oracle.predict_ms(space.table_archs())[measured], truth[measured]).statistic
                        rows.append({"task": item["task"], "device": device, "samples": n, "seed": seed,
                                     "sampler": sampler, "spearman": float(rho)})
                    print(f"{device} n={n} seed={seed}: " + ", ".join(f"{r['sampler']} {r['spearman']:.3f}"
                                                                      for r in rows[-len(samplers):]), flush=True)
    frame = pd.DataFrame(rows)
    stem = f"sampler_{args.space}{args.tag}"
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / f"{stem}.csv", index=False)
    text = (f"# NASFLAT target samplers, {args.space}\n\nCommand: `{command}`; {time.perf_counter() - started:.0f} s "
            f"wall, load average {os.getloadavg()[0]:.1f} (2 shared cores). `oracle=nasflat` defaults; Spearman over "
            "every architecture each target has measured; mean over targets, then mean ± std over seeds.\n\n"
            + summary(frame) + "\n")
    (OUT / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
