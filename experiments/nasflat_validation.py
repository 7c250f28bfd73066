"""NASFLAT's read-out options on validation transfers that share no target with the paper's test tasks.

    python experiments/nasflat_validation.py --space nb201 --samples 20,10 --seeds 2 --per-task 6
    python experiments/nasflat_validation.py --space nb201 --design loo --samples 20,10,5 --seeds 3

The options `source_mix` and `readout: blend` were measured on the paper's test tasks only, so choosing them
there would select on the test set. Here no target is a covered task's test target, nor a twin of one (a device
whose table ranks a test target's architectures at Spearman >= 0.99: HW-NAS-Bench's copies `rice_*`, ...).
- `--design tasks` (default): each covered task's own sources, transferred to up to `--per-task` of the other
  devices (a seeded draw per task): the tasks' shifts between device families, on other targets.
- `--design loo`: each of task 0's sources that is no test target, from the other sources (leave one out), and
  HELP's validation devices (`help_default_validation_devices` of tasks.json) from all of task 0's sources.
The four read-outs come from the same transfers (`nasflat_tasks.nasflat_runs` with the source mix on).

Rule, fixed before the first run: per space, the read-out with the highest mean Spearman (over targets, then
seeds) at 10 and at 20 samples, averaged over the two, becomes the space's choice if it beats the stacked read-out
(`nasflat`, then every space's default) at both 10 and 20 samples; else the stacked read-out stays. Other sample counts are reported, not used.
`--compare-bags` (stop 30) also reads each transfer out with the other bagging of the stacked read-out (`readout_bags`
0 <-> 50, `nasflat_tasks.py --compare-bags`). Rule, fixed before the first run: bagging becomes the space's choice
if, on its default read-out, it beats one fit at 10 and at 20 samples, both over every transfer (mean over targets,
then seeds) and over the far ones (closeness < 0.7: the best source ranks the target's samples below 0.7), which
dominate FBNet's test tasks. (It picked bagging on FBNet, the paper's tasks contradict it: docs/nasflat_studies.md,
"Bagging the read-out".)
`--sampler kmeans_doptimal --baseline <csv>` (stop 31) runs the transfers with the D-optimal second half of the
target samples (`oracle.sampler`) and compares them with `<csv>`, the same transfers with NASFLAT's sampler. Rule,
fixed before the first run: the D-optimal sampler becomes the space's choice if, on the space's default read-out, it
beats NASFLAT's sampler at 10 and at 20 samples, both over every transfer (mean over targets, then seeds) and over the
far ones (closeness as above, from NASFLAT's samples), and the paper's test tasks do not contradict it: no covered
task's mean at 10 or 20 samples drops by more than two standard errors of the paired difference over seeds (as at
stop 30, where the test tasks overruled the validation, a change needs both).
`--sampler kmeans_ioptimal` (stop 32): the I-optimal second half (`nasflat_train.ioptimal_picks`). Rules, fixed
before its first run: (a) the sampler alone, as the D-optimal one's above; (b) on a space whose default read-out has
no source mix (FBNet until this rule adopted it), the pair, this sampler read out with the source mix, becomes the
space's default if it beats the baseline's default read-out (NASFLAT's sampler, no mix) at 10 and 20 samples over
every transfer and over the far ones, and no covered test task's mean at 10 or 20 samples drops by more than two standard errors of the paired
difference over seeds (`nasflat_tasks.py --baseline` pairs its mix rows with the baseline's default). If (a) and
(b) both pass, the one with the higher validation mean over 10 and 20 samples (every transfer) is taken. `--design
loo` runs are reported and decide nothing.
`--compare-reject` (stop 33) also runs each transfer with `oracle.reject_outliers` switched (`nasflat_tasks.py
--compare-reject`): the samples the sources cannot explain (`nasflat_train.outlier_samples`: robust z > 3 of the
out-of-fold source mix's residual, at most one in ten) are left out of the transfer. Why: on FBNet task 4 the
transfers whose phone target collapses (0.45-0.57 where its other seeds reach 0.70-0.80) each hold one sample measured
far slower than every input predicts, which sets the source choice, the fine-tuning and the read-out's weights.
Rule, fixed before the first run: rejection becomes the space's choice if, on the space's default read-out, it beats
the transfer without it at 10 and at 20 samples, both over every transfer (mean over targets, then seeds) and over the
far ones, and no covered test task's mean at 10 or 20 samples drops by more than two standard errors of the paired
difference over seeds (`nasflat_tasks.py --compare-reject`, the seeds of the merged table's default rows). It is run
on FBNet; NB201 and OFA keep every sample unless it is run there too. (At 5 samples it leaves nothing out.) It
failed on FBNet's validation and then on NB201's: `reject_outliers` is an option (docs/nasflat_studies.md).
`--compare-reject --reject-side slow` (stop 35): the same, leaving out only samples measured slower than the source mix
says (`oracle.reject_side=slow`): interference, throttling or a cold cache only add time, so a sample measured faster
than the sources predict is the target's own behaviour, not a glitch. Rule, fixed before the first run: the same as
stop 33's above, with `reject_outliers=true reject_side=slow` in place of `reject_outliers=true`; it is run on FBNet.
It failed at 10 samples and gained at 20. `--reject-per 20` (stop 35, second rule): at most one sample in twenty, so
nothing is left out below 20 samples, where the robust scale rests on too few residuals; chosen after seeing that
failure, so it is judged on fresh validation transfers, seeds 3-8 at 20 samples (`--samples 20 --seeds 6
--first-seed 3`). Rule, fixed before that run: `reject_outliers=true reject_side=slow reject_per=20` becomes FBNet's
default if it beats the transfer without it at 20 samples over every one of those transfers and over the far ones, and
no covered test task's mean at 20 samples drops by more than two standard errors of the paired difference over the
merged table's seeds (`nasflat_tasks.py --compare-reject --rejected-only --baseline <merged csv>`).
`--compare-reject --rejected-only --baseline <csv>` (stop 36): transfers only where rejection leaves a sample out and
copies the baseline's every-sample row elsewhere (as `nasflat_tasks.py --rejected-only`). Stop 36 ran it on a gate
for slow-side rejection (`reject_gate`, code at cfcd418, removed since: docs/nasflat_studies.md "A gate on
rejection"), whose rule failed here.
Writes experiments/results/nasflat/validation_<space>[_loo].{csv,md}; `--closeness` compares them with the test
tasks' transfers (validation_closeness_<space>.md).
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

from nasflat_tasks import (OUT, SPACES, build_parser, default_method, mix_method, nasflat_runs, plan,  # noqa: E402
                           read_baseline, reject_suffix)

from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import load_tasks, reference_rows  # noqa: E402
from hwnas.predictors.nasflat_train import best_source  # noqa: E402

# the read-outs compared: the stacked one (the default of every space when the rule was fixed), the source mix, the
# blend, both
READOUTS = {"nasflat": "stacked", "nasflat_mix": "stacked + source mix",
            "nasflat_blend": "blend", "nasflat_mix_blend": "blend + source mix"}
RULE_SAMPLES = (10, 20)
FAR = 0.7                       # closeness under which a transfer counts as far (`bagging_verdict`)
TWIN_SPEARMAN = 0.99            # a device whose table ranks a test target's this alike is that target's twin


def base_readout(method: str) -> str:
    """The read-out of a recorded method without its suffix (`_bags<k>`, `_rej`, `_norej`)."""
    return method.split("_bags")[0].removesuffix("_rej").removesuffix("_norej")


def test_targets(space, space_key: str) -> set[str]:
    """Every covered task's test targets and their twins (tables ranking alike at >= TWIN_SPEARMAN)."""
    tested = {t for item in plan(space, space_key) if item["covered"] for t in item["targets"]}
    tables = devices.tables(space.name)
    twins = set()
    for name, table in tables.items():
        for target in tested:
            both = np.isfinite(table.latency_ms) & np.isfinite(tables[target].latency_ms)
            if name not in tested and both.sum() > 50 and spearmanr(
                    table.latency_ms[both], tables[target].latency_ms[both]).statistic >= TWIN_SPEARMAN:
                twins.add(name)
    return tested | twins


def transfers(space, space_key: str, design: str = "tasks", per_task: int = 4) -> list[dict]:
    """The validation transfers: (target, sources) pairs away from every covered task's test targets."""
    excluded = test_targets(space, space_key)
    shipped = devices.tables(space.name)
    if design == "tasks":
        pool = sorted(d for d, t in shipped.items() if d not in excluded and np.isfinite(t.latency_ms).sum() >= 100)
        out = []
        for item in plan(space, space_key):
            if item["covered"]:
                eligible = [d for d in pool if d not in item["sources"]]
                drawn = np.random.default_rng(item["task"]).choice(eligible, min(per_task, len(eligible)), replace=False)
                out += [{"task": None, "target": str(d), "sources": item["sources"], "kind": f"task {item['task']}"}
                        for d in sorted(drawn)]
        return out
    tasks = load_tasks()
    base = [str(d) for d in tasks[space_key]["0"]["train"]]
    out = [{"task": None, "target": d, "sources": [s for s in base if s != d], "kind": "leave one out"}
           for d in base if d not in excluded]
    out += [{"task": None, "target": d, "sources": base, "kind": "HELP validation"}
            for d in tasks["help_default_validation_devices"][space_key]
            if d in shipped and d not in excluded and d not in base]
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
    for (kind, target), part in frame.groupby(["kind", "device"], sort=False):
        cells = [" / ".join(f"{part[(part.method == m) & (part.samples == n)].spearman.mean():.3f}"
                            for n in RULE_SAMPLES) for m in READOUTS]
        lines.append(f"| {target} | {kind} | " + " | ".join(cells) + " |")
    if all((m, n) in means for m in READOUTS for n in RULE_SAMPLES):
        score = {m: np.mean([means[m, n] for n in RULE_SAMPLES]) for m in READOUTS}
        best = max(score, key=score.get)
        wins = best != "nasflat" and all(means[best, n] > means["nasflat", n] for n in RULE_SAMPLES)
        verdict = READOUTS[best] if wins else READOUTS["nasflat"]
        lines += ["", f"Rule (module docstring): best mean over {RULE_SAMPLES} samples: {READOUTS[best]} "
                      f"({score[best]:.4f}; stacked {score['nasflat']:.4f}); **choice: {verdict}**."]
    return "\n".join(lines + bagging_verdict(frame) + reject_verdict(frame)) + "\n"


CLOSENESS_BINS = (-1.0, 0.5, 0.7, 0.8, 0.9, 1.0)


def transfer_closeness(space, device: str, sources, samples: int, seed: int) -> float:
    """The best source's Spearman on the target's samples (`reference_archs`' sampler, as `best_source` picks it)."""
    truth = devices.latency_ms(space.name, device)
    picks = reference_rows(space, device, int(samples), int(seed))
    _, rho = best_source(np.stack([devices.latency_ms(space.name, s)[picks] for s in sources]), truth[picks])
    return float(np.nanmax(rho))


def every_and_far(part: pd.DataFrame, column: str = "spearman") -> tuple[float, float]:
    """Mean `column` over every transfer (over targets, then seeds) and over the far ones (nan where none is far)."""
    return part.groupby(["device", "kind"])[column].mean().mean(), part[part.far][column].mean()


def every_and_far_table(rows: list[tuple[str, pd.DataFrame, str]], counts: list[int]) -> tuple[list[str], dict]:
    """A table of `every_and_far` per (label, transfers, column) row and sample count, and those means keyed by
    (label, count): the two rejection verdicts compare their rows with it."""
    lines = ["| transfer | " + " | ".join(f"{n} samples" for n in counts) + " |", "|---|" + "---|" * len(counts)]
    means = {}
    for label, part, column in rows:
        for n in counts:
            means[label, n] = every_and_far(part[part.samples == n], column)
        cells = (" / ".join(f"{v:.4f}" for v in means[label, n]) for n in counts)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines, means


def bagging_verdict(frame: pd.DataFrame) -> list[str]:
    """`--compare-bags`: each read-out as run (the oracle's `readout_bags`) and with the other bagging, at 10 and 20
    samples, mean Spearman on every transfer and on the far ones (closeness < FAR; the rule: module docstring)."""
    other = sorted({m.rsplit("_bags", 1)[1] for m in frame.method.unique() if "_bags" in m})
    if not other:
        return []
    far_share = frame[frame.method == "nasflat"].far.mean()
    lines = ["", f"Bagging (`--compare-bags`): each read-out as run and from the same transfers with "
             f"`readout_bags={other[0]}`; mean Spearman over every transfer / over the far ones (closeness < {FAR}, "
             f"{far_share:.0%} of the transfers):", "",
             "| read-out | readout_bags | " + " | ".join(f"{n} samples" for n in RULE_SAMPLES) + " |",
             "|---|---|" + "---|" * len(RULE_SAMPLES)]
    for method, label in READOUTS.items():
        for name, bags in ((method, "as run"), (f"{method}_bags{other[0]}", other[0])):
            cells = []
            for n in RULE_SAMPLES:
                every, far = every_and_far(frame[(frame.method == name) & (frame.samples == n)])
                cells.append(f"{every:.4f} / {far:.4f}")
            lines.append(f"| {label} | {bags} | " + " | ".join(cells) + " |")
    return lines


def reject_verdict(frame: pd.DataFrame) -> list[str]:
    """`--compare-reject`: the space's default read-out of the transfers as run and with outlier rejection switched,
    at 10 and 20 samples, mean Spearman on every transfer and on the far ones; the validation half of the stop-33
    rule (module docstring)."""
    method = default_method(frame.space.iloc[0])
    switched = [method + reject_suffix(on) for on in (True, False) if (frame.method == method + reject_suffix(on)).any()]
    if not switched:
        return []
    # the rule's sample counts this run has (stop 35's variant is run at 20 only: below 20 it leaves nothing out)
    counts = [n for n in RULE_SAMPLES if (frame.samples == n).any()]
    table, means = every_and_far_table([(f"`{name}`", frame[frame.method == name], "spearman")
                                        for name in (method, switched[0])], counts)
    lines = ["", f"Outlier rejection (`--compare-reject`), on the space's default read-out `{method}`; mean Spearman "
             f"over every transfer / over the far ones (closeness < {FAR}):", "", *table]
    on, off = (switched[0], method) if switched[0].endswith(reject_suffix(True)) else (method, switched[0])
    suffix = switched[0].removeprefix(method)
    # recorded on the switched transfers' stacked read-outs (`nasflat_tasks.record_readouts`), not on their blends
    left_out = (frame[frame.method.str.endswith(suffix)].groupby(["device", "kind", "samples", "seed"]).rejected.max()
                .gt(0).mean())
    wins = all(means[f"`{on}`", n][i] > means[f"`{off}`", n][i] for n in counts for i in (0, 1))
    return lines + ["", f"Transfers that left a sample out: {left_out:.0%}.", "",
                    "Validation half of the rejection rule (stop 33): " + (
                        "**passed** (the other half: the test tasks, `nasflat_tasks.py --compare-reject`)." if wins
                        else "**failed**: every sample stays in the transfer.")]


def rejected_only_report(frame: pd.DataFrame, baseline: pd.DataFrame, command: str, wall_s: float) -> str:
    """`--compare-reject --rejected-only --baseline`: the space's default read-out with rejection (as configured: side,
    per) against the baseline's transfers on every sample, paired, at each sample count run; mean Spearman over every
    transfer / the far ones; how often a sample was left out; the validation half of the rule."""
    method = default_method(frame.space.iloc[0])
    keys = ["device", "kind", "samples", "seed"]
    both = frame[frame.method == method + reject_suffix(True)].merge(
        baseline[baseline.method == method][keys + ["spearman"]], on=keys, suffixes=("", "_base"))
    counts = sorted(both.samples.unique(), reverse=True)
    lines = [f"# Outlier rejection on validation transfers, {frame.space.iloc[0]}", "",
             f"Command: `{command}`; {wall_s:.0f} s wall. The default read-out `{method}`, every sample (the "
             f"baseline's rows) and with rejection as run ({len(both)} paired transfers; rows where nothing is left out "
             "are the baseline's). Mean Spearman over every transfer (over targets, then seeds) / over the far ones "
             f"(closeness < {FAR}):", ""]
    table, means = every_and_far_table([("every sample", both, "spearman_base"),
                                        ("with rejection", both, "spearman")], counts)
    lines += table
    per_count = "; ".join(f"{n} samples {(both[both.samples == n].rejected > 0).mean():.0%}" for n in counts)
    wins = all(means["with rejection", n][i] > means["every sample", n][i] for n in counts for i in (0, 1))
    changed = both[both.spearman != both.spearman_base].assign(diff=lambda f: f.spearman - f.spearman_base)
    lines += ["", f"Transfers that left a sample out: {per_count}.", "",
              "Changed transfers (largest first): " + ", ".join(
                  f"{r.device} ({r.kind}, {r.samples}, seed {r.seed}) {r.diff:+.3f}"
                  for r in changed.reindex(changed["diff"].abs().sort_values(ascending=False).index).itertuples()),
              "", "Validation half of the rule: " + ("**passed** (the other half: the test tasks, `nasflat_tasks.py "
                                                      "--compare-reject --rejected-only`)." if wins else "**failed**.")]
    return "\n".join(lines) + "\n"


def sampler_verdict(frame: pd.DataFrame, baseline: pd.DataFrame, method: str) -> list[str]:
    """`--baseline`: the space's default read-out (`method`) with this run's sampler against the baseline's (the same
    transfers with NASFLAT's sampler), at 10 and 20 samples, over every transfer and the far ones (the rule: module
    docstring)."""
    keys = ["device", "kind", "samples", "seed"]
    both = frame[frame.method == method].merge(baseline[baseline.method == method], on=keys, suffixes=("", "_base"))
    rows = [("NASFLAT's (baseline)", "spearman_base"), ("this run's", "spearman")]
    mixed = mix_method(method, frame)
    if mixed:
        # the same transfers read out with the source mix: the pair (rule (b) of stop 32; reported only at stop 31)
        both = both.merge(frame[frame.method == mixed][keys + ["spearman"]].rename(columns={"spearman": "mix"}), on=keys)
        rows.append(("this run's, read out with the source mix (the pair)", "mix"))
    lines = ["", f"Sampler against the baseline (`{method}`, the read-out compared: --baseline-method, else the space's "
             f"default; {len(both)} paired runs); "
             "mean Spearman over every transfer / over the far ones:", "",
             "| sampler | " + " | ".join(f"{n} samples" for n in RULE_SAMPLES) + " |", "|---|" + "---|" * len(RULE_SAMPLES)]
    means = {}
    for label, column in rows:
        cells = []
        for n in RULE_SAMPLES:
            every, far = means[column, n] = every_and_far(both[both.samples == n], column)   # far: nan with --design loo
            cells.append(f"{every:.4f} / " + ("no far ones" if np.isnan(far) else f"{far:.4f}"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def beats(column: str) -> bool:
        return all(means[column, n][i] > means["spearman_base", n][i] for n in RULE_SAMPLES for i in (0, 1)
                   if not np.isnan(means["spearman_base", n][i]))

    def mean_score(column: str) -> float:
        return float(np.mean([means[column, n][0] for n in RULE_SAMPLES]))

    lines += ["", "Validation half of the rule: " + ("**passed** (the other half: the test tasks, `nasflat_tasks.py "
                                                      "--baseline`)." if beats("spearman") else
                                                      "**failed**: NASFLAT's sampler stays.")]
    if ("mix", RULE_SAMPLES[0]) in means:
        lines += ["", "Validation half of the pair's rule (stop 32): " + (
            f"**passed** (mean over {' and '.join(map(str, RULE_SAMPLES))} samples: the pair {mean_score('mix'):.4f}, "
            f"the sampler alone {mean_score('spearman'):.4f})." if beats("mix") else "**failed**.")]
    return lines


def closeness(space, space_key: str) -> str:
    """How alike the validation and the test transfers are: per transfer (target, sources, samples, seed), the
    best source's Spearman on the target's samples (`reference_archs`' sampler, as `best_source` picks it), binned;
    per bin the share of transfers and the blend's mean gain over the stacked read-out (both recorded on every
    set). Reads validation_<space>[_loo].csv and the merged <space>.csv of nasflat_tasks.py."""
    sources = {f"task {i['task']}": i["sources"] for i in plan(space, space_key) if i["covered"]}
    base = [str(d) for d in load_tasks()[space_key]["0"]["train"]]
    rows = []
    sets = {"validation, tasks": f"validation_{space_key}.csv", "validation, loo": f"validation_{space_key}_loo.csv",
            "test tasks": f"{space_key}.csv"}
    for label, name in sets.items():
        frame = pd.read_csv(OUT / name)
        if "kind" not in frame:
            frame["kind"] = [f"task {t}" for t in frame.task]
        frame = frame[frame.method.isin(["nasflat", "nasflat_blend"]) & frame.samples.isin(RULE_SAMPLES)]
        wide = frame.pivot_table(index=["kind", "device", "samples", "seed"], columns="method", values="spearman")
        for (kind, device, n, seed), row in wide.dropna().iterrows():
            used = sources.get(kind, base if kind == "HELP validation" else [d for d in base if d != device])
            rows.append({"set": label, "closeness": transfer_closeness(space, device, used, n, seed),
                         "gain": row.nasflat_blend - row.nasflat})
    frame = pd.DataFrame(rows)
    frame["bin"] = pd.cut(frame.closeness, CLOSENESS_BINS)
    share = pd.crosstab(frame.set, frame.bin, normalize="index")
    gain = frame.pivot_table(index="set", columns="bin", values="gain", aggfunc="mean", observed=False)
    bins = list(share.columns)
    lines = [f"# How alike validation and test transfers are, {space_key}", "",
             f"Command: `python experiments/nasflat_validation.py --space {space_key} --closeness`. Closeness: the best "
             "source's Spearman on the target's samples (10 and 20). Per bin: share of the set's transfers; in "
             "brackets the blend read-out's mean gain in Spearman over the stacked one (same transfers).", "",
             "| set | transfers | " + " | ".join(str(b) for b in bins) + " |", "|---|---|" + "---|" * len(bins)]
    for label in sets:
        if label in share.index:
            cells = [f"{share.loc[label, b]:.2f} ({gain.loc[label, b]:+.3f})" if share.loc[label, b] else "0"
                     for b in bins]
            lines.append(f"| {label} | {int((frame.set == label).sum())} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = build_parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--design", choices=("tasks", "loo"), default="tasks")
    parser.add_argument("--per-task", type=int, default=4, help="--design tasks: validation targets per task")
    parser.add_argument("--closeness", action="store_true",
                        help="only compare validation and test transfers by closeness (after both runs)")
    args = parser.parse_args(argv)
    space = devices.search_space(SPACES[args.space])
    if args.closeness:
        text = closeness(space, args.space)
        (OUT / f"validation_closeness_{args.space}.md").write_text(text)
        print(text)
        return
    args.samples = [int(s) for s in args.samples.split(",")]
    args.methods, args.source_mix = {"nasflat"}, True
    torch.set_num_threads(1)
    command = " ".join(["python experiments/nasflat_validation.py"] + (argv if argv is not None else sys.argv[1:]))
    records, started = [], time.perf_counter()
    stem = OUT / f"validation_{args.space}{'_loo' if args.design == 'loo' else ''}{args.tag}"
    baseline = read_baseline(args)
    for item in transfers(space, args.space, args.design, args.per_task):
        truth = devices.latency_ms(space.name, item["target"])
        measured = np.isfinite(truth)

        def add(method, n, seed, pred, extra=None, rho=None):
            if base_readout(method) in READOUTS:
                rho = float(spearmanr(pred[measured], truth[measured]).statistic) if rho is None else rho
                records.append({"space": args.space, "device": item["target"], "kind": item["kind"],
                                "sources": len(item["sources"]), "method": method, "samples": n, "seed": seed,
                                "spearman": rho, "far": far, "rejected": (extra or {}).get("rejected", np.nan)})

        for n in args.samples:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                far = transfer_closeness(space, item["target"], item["sources"], n, seed) < FAR
                nasflat_runs(args, space, item, item["target"], n, seed, truth, add)
        frame = pd.DataFrame(records)
        OUT.mkdir(parents=True, exist_ok=True)
        frame.to_csv(stem.with_suffix(".csv"), index=False)
        if args.rejected_only:
            text = rejected_only_report(frame, baseline, command, time.perf_counter() - started)
        else:
            text = report(frame, command, time.perf_counter() - started)
            if baseline is not None:
                compared = args.baseline_method or default_method(args.space)
                text += "\n".join(sampler_verdict(frame, baseline, compared)) + "\n"
        stem.with_suffix(".md").write_text(text)
        print(f"{item['target']} ({item['kind']}): {time.perf_counter() - started:.0f} s", flush=True)
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    try:
        main()
    except HwnasError as exc:
        sys.exit(f"error: {exc}")
