"""NASFLAT's read-out options on validation transfers that share no target with the paper's test tasks.

    python experiments/nasflat_validation.py --space nb201 --samples 20,10,5 --seeds 3

The options `source_mix` and `readout: blend` were measured on the paper's test tasks only, so choosing them
there would select on the test set. Here the targets are devices that no covered task of the space tests on:
each of task 0's sources that is no covered task's target, transferred to from the other sources (leave one
out), and HELP's validation devices (`help_default_validation_devices` of tasks.json) from all of task 0's
sources. The four read-outs come from the same transfers (`nasflat_tasks.nasflat_runs` with the source mix on).

Rule, fixed before the first run: per space, the read-out with the highest mean Spearman (over targets, then
seeds) at 10 and at 20 samples, averaged over the two, becomes the space's choice if it beats the default
(`nasflat`) at both 10 and 20 samples; else the default stays. 5 samples are reported, not used by the rule.
Writes experiments/results/nasflat/validation_<space>.{csv,md}.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasflat_tasks import OUT, SPACES, build_parser, nasflat_runs, plan  # noqa: E402

from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import load_tasks  # noqa: E402

# the read-outs compared: the default, the source mix, the blend, both
READOUTS = {"nasflat": "stacked (default)", "nasflat_mix": "stacked + source mix",
            "nasflat_blend": "blend", "nasflat_mix_blend": "blend + source mix"}
RULE_SAMPLES = (10, 20)


def transfers(space, space_key: str) -> list[dict]:
    """The validation transfers: (target, sources) pairs away from every covered task's test targets."""
    tested = {t for item in plan(space, space_key) if item["covered"] for t in item["targets"]}
    tasks = load_tasks()
    base = [str(d) for d in tasks[space_key]["0"]["train"]]
    shipped = devices.tables(space.name)
    out = [{"task": None, "target": d, "sources": [s for s in base if s != d], "kind": "leave one out"}
           for d in base if d not in tested]
    out += [{"task": None, "target": d, "sources": base, "kind": "HELP validation"}
            for d in tasks["help_default_validation_devices"][space_key]
            if d in shipped and d not in tested and d not in base]
    return out


def report(frame: pd.DataFrame, command: str, wall_s: float) -> str:
    """Mean over targets, then seeds, per read-out and sample count; per target; the rule's verdict."""
    lines = [f"# NASFLAT read-outs on validation transfers, {frame.space.iloc[0]}", "",
             f"Command: `{command}`; {wall_s:.0f} s wall. Spearman over every architecture each target has "
             "measured; mean over targets, then over seeds (± std over seeds).", "",
             "| read-out | " + " | ".join(f"{n} samples" for n in sorted(frame.samples.unique(), reverse=True)) + " |",
             "|---|" + "---|" * frame.samples.nunique()]
    means = {}
    for method, label in READOUTS.items():
        cells = []
        for n in sorted(frame.samples.unique(), reverse=True):
            per_seed = frame[(frame.method == method) & (frame.samples == n)].groupby("seed")["spearman"].mean()
            means[method, n] = per_seed.mean()
            cells.append(f"{per_seed.mean():.4f} ± {per_seed.std(ddof=0):.4f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Per target (mean over seeds), " + ", ".join(f"{n} samples" for n in RULE_SAMPLES) + ":", "",
              "| target | kind | " + " | ".join(READOUTS.values()) + " |", "|---|---|" + "---|" * len(READOUTS)]
    for (target, kind), part in frame.groupby(["device", "kind"], sort=False):
        cells = [" / ".join(f"{part[(part.method == m) & (part.samples == n)].spearman.mean():.3f}"
                            for n in RULE_SAMPLES) for m in READOUTS]
        lines.append(f"| {target} | {kind} | " + " | ".join(cells) + " |")
    if all((m, n) in means for m in READOUTS for n in RULE_SAMPLES):
        score = {m: np.mean([means[m, n] for n in RULE_SAMPLES]) for m in READOUTS}
        best = max(score, key=score.get)
        wins = best != "nasflat" and all(means[best, n] > means["nasflat", n] for n in RULE_SAMPLES)
        verdict = READOUTS[best] if wins else READOUTS["nasflat"]
        lines += ["", f"Rule (module docstring): best mean over {RULE_SAMPLES} samples: {READOUTS[best]} "
                      f"({score[best]:.4f}; default {score['nasflat']:.4f}); **choice: {verdict}**."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = build_parser()
    parser.description = __doc__.splitlines()[0]
    args = parser.parse_args(argv)
    args.samples = [int(s) for s in args.samples.split(",")]
    args.methods, args.source_mix = {"nasflat"}, True
    torch.set_num_threads(1)
    space = devices.search_space(SPACES[args.space])
    command = " ".join(["python experiments/nasflat_validation.py"] + (argv if argv is not None else sys.argv[1:]))
    records, started = [], time.perf_counter()
    stem = OUT / f"validation_{args.space}{args.tag}"
    for item in transfers(space, args.space):
        truth = devices.latency_ms(space.name, item["target"])
        measured = np.isfinite(truth)

        def add(method, n, seed, pred, extra=None):
            if method in READOUTS:
                records.append({"space": args.space, "device": item["target"], "kind": item["kind"],
                                "sources": len(item["sources"]), "method": method, "samples": n, "seed": seed,
                                "spearman": float(spearmanr(pred[measured], truth[measured]).statistic)})

        for n in args.samples:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                nasflat_runs(args, space, item, item["target"], n, seed, truth, add)
        frame = pd.DataFrame(records)
        OUT.mkdir(parents=True, exist_ok=True)
        frame.to_csv(stem.with_suffix(".csv"), index=False)
        stem.with_suffix(".md").write_text(report(frame, command, time.perf_counter() - started))
        print(f"{item['target']} ({item['kind']}): {time.perf_counter() - started:.0f} s", flush=True)
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    try:
        main()
    except HwnasError as exc:
        sys.exit(f"error: {exc}")
