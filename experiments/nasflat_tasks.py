"""NASFLAT (Akhauri & Abdelfattah, MLSys 2024) and baselines on the paper's few-shot transfer tasks.

    python experiments/nasflat_tasks.py --space fbnet --samples 20,10 --seeds 3

Per covered task of ../shared/data/nasflat/tasks.json (every source has a full table; a target is covered
when it is measured): the `nasflat` oracle (pre-trained on the task's sources, cached; transferred with
`samples` target measurements picked by its sampler, seed s), `scratch` (the same network, randomly
initialised, fine-tuned on the same samples only), `best_source` (the table of the source device that ranks
the samples best), `flops` (no samples), and on request `help` / `help_ensemble` (HELP meta-trained on the
task's sources at HELP's published episodes unless --help-episodes; adapted on its 10 reference architectures
plus `samples - 10` seeded extras; `--methods help` alone needs no nasflat pre-training). Spearman over every
architecture the target has measured (the paper's code also scores the whole space). Writes
experiments/results/nasflat/<space>.{md,csv}.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.predictors.nasflat import BAGS as COMPARE_BAGS  # noqa: E402
from hwnas.predictors.nasflat import NasflatOracle, load_tasks, resolve_readout  # noqa: E402
from hwnas.predictors.nasflat_model import graph_vocabulary  # noqa: E402
from hwnas.predictors.nasflat_train import (REJECT_SIDES, best_source, build_net, log_linear_fit, scores,  # noqa: E402
                                            transfer)

OUT = Path(__file__).resolve().parent / "results" / "nasflat"
SPACES = {"nb201": "nasbench201", "fbnet": "fbnet"}
# The authors' repository (correlation_trainer/HELP/result.txt), tasks 0-5; the transfer sample count is
# not stated there (their examples use 20): compare with the 20-sample column.
PAPER = {"fbnet": {"NASFLAT": [0.961, 0.577, 0.809, 0.871, 0.814, 0.734],
                   "HELP": [0.91, 0.37, 0.793, 0.543, 0.413, 0.799],
                   "MultiPredict": [0.960, 0.45, 0.756, 0.567, 0.434, 0.763]},
         "nb201": {"NASFLAT": [0.959, 0.893, 0.967, 0.857, 0.962, 0.959],
                   "HELP": [0.948, 0.410, 0.604, 0.509, 0.729, 0.746],
                   "MultiPredict": [0.930, 0.820, 0.907, 0.757, 0.947, 0.952]}}


def default_method(space_key: str) -> str:
    """The method label of the oracle's default read-out on the space (`nasflat.SPACE_READOUTS`) among the read-outs
    recorded from one transfer: nasflat (stacked), nasflat_mix, nasflat_blend, nasflat_mix_blend."""
    readout, mix = resolve_readout(SPACES[space_key], None, None)
    return "nasflat" + ("_mix" if mix else "") + ("_blend" if readout == "blend" else "")


def mix_method(method: str, frame: pd.DataFrame) -> str | None:
    """The label of `method` read out with the source mix where `method` has none and `frame` recorded it (the pair
    of a sampler rule, experiments/nasflat_validation.py); else None."""
    mixed = method.replace("nasflat", "nasflat_mix", 1)
    return mixed if "_mix" not in method and (frame.method == mixed).any() else None


def record_readouts(oracle: NasflatOracle, suffix: str, add, info: dict) -> np.ndarray:
    """Every read-out of one adapted oracle's transfers under its method label plus `suffix`: `nasflat` (stacked),
    `nasflat_paper`, `nasflat_blend` and, with the source mix on, `nasflat_mix` and its blend. Returns the paper's
    read-out (the blends' other half)."""
    table = oracle.space.table_archs()
    stacked, paper = oracle.table_ms_without_mix(), oracle.paper_readout_ms()
    # `oracle.readout=blend` from the same transfers: the geometric mean with the paper's read-out (as the oracle's,
    # tests/predictors/test_nasflat.py); with the source mix on, `nasflat_mix` and its blend too
    if oracle.source_mix:
        mixed = oracle.predict_ms(table)
        add(f"nasflat_mix{suffix}", mixed, info)
        add(f"nasflat_mix_blend{suffix}", np.sqrt(mixed * paper))
    add(f"nasflat{suffix}", stacked, info)
    add(f"nasflat_paper{suffix}", paper)
    add(f"nasflat_blend{suffix}", np.sqrt(stacked * paper))
    return paper


def reject_suffix(reject: bool) -> str:
    """The method suffix of a transfer with (`_rej`) or without (`_norej`) outlier rejection (`--compare-reject`)."""
    return "_rej" if reject else "_norej"


def plan(space, space_key: str) -> list[dict]:
    """Per task: sources, covered targets, and what is left out and why."""
    tasks = load_tasks()
    alias = tasks.get("eagle_alias_inferred", {})
    shipped = devices.tables(space.name)
    out = []
    for task_id, task in tasks[space_key].items():
        notes, sources, targets = [], [alias.get(d, d) for d in task["train"]], []
        for name in sources:
            if name not in shipped or not np.isfinite(shipped[name].latency_ms).all():
                notes.append(f"source {name}: no full table here")
        for raw in task["test"]:
            name = alias.get(raw, raw)
            if name not in shipped:
                notes.append(f"target {raw}: no data here")
            elif np.isfinite(shipped[name].latency_ms).sum() < 100:
                notes.append(f"target {name}: {int(np.isfinite(shipped[name].latency_ms).sum())} archs measured")
            else:
                targets.append(name)
        covered = not any(n.startswith("source") for n in notes) and bool(targets)
        out.append({"task": int(task_id), "sources": sources, "targets": targets if covered else [],
                    "notes": notes, "covered": covered})
    return out


def flops(space) -> np.ndarray:
    """FLOPs of every table architecture: additive over layers (FBNet) or cell edges (NB201)."""
    from hwnas.measure.model_stats import flop_count

    archs = np.asarray(space.table_archs())
    if hasattr(space, "operator_index"):
        ops = space.operators()
        per_op = np.array([flop_count(space.build_operator(spec), spec.input_shape) for spec in ops], dtype=float)
        return per_op[space.operator_index(archs)].sum(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from help_reproduction import nb201_cost_features

    return nb201_cost_features(space)["flops"]


def scratch(oracle: NasflatOracle, rows: np.ndarray, latency_ms: np.ndarray, seed: int) -> np.ndarray:
    """The nasflat network, randomly initialised (no pre-training), fine-tuned on the samples only."""
    torch.manual_seed(1000 + seed)
    net = build_net(len(graph_vocabulary(oracle.space)), oracle.graphs.tokens.shape[1], len(oracle.sources),
                    oracle.pretrain_cfg)
    net.eval()
    graphs = oracle.graphs.take(rows)
    tuned = transfer(net, graphs, latency_ms, None, oracle.transfer_cfg)
    a, b = log_linear_fit(scores(tuned, graphs, len(oracle.sources)), latency_ms)
    return a * scores(tuned, oracle.graphs, len(oracle.sources)) + b


def help_predict(space, device, sources, samples, seed, episodes, members: int = 1) -> np.ndarray:
    """The `help` oracle (members 1) or `help_ensemble` (members > 1) meta-trained on the task's sources
    (validation: HELP's validation devices that are neither a source nor the target), adapted on the 10
    reference architectures + `samples - 10` seeded extras. None where the target has not measured all of
    HELP's references (EAGLE's NB201 devices measured 1,999 architectures), which HELP cannot adapt without."""
    from hwnas.predictors.help import HelpOracle
    from hwnas.predictors.help_ensemble import HelpEnsembleOracle
    from hwnas.predictors.help_meta import HELP_SPLITS

    valid = tuple(d for d in HELP_SPLITS[space.name][1] if d not in sources and d != device)
    kind, extra = (HelpOracle, {}) if members == 1 else (HelpEnsembleOracle, {"ensemble": members})
    oracle = kind(space, device, samples=max(samples, 10), seed=seed, train_devices=tuple(sources),
                  valid_devices=valid, episodes=episodes, **extra)
    refs = oracle.reference_archs()
    measured = devices.latency_ms(space.name, device)[space.table_index(refs)]
    if not np.isfinite(measured).all():
        return None
    oracle.adapt(refs, measured)
    return oracle.predict_ms(space.table_archs())


NASFLAT_METHODS = {"nasflat", "scratch", "best_source"}


def nasflat_runs(args, space, item, device, n, seed, truth, add) -> None:
    """`nasflat` (and its paper and blend read-outs), `scratch` and `best_source` on one target, sample count and
    seed; the sources are the item's task's, or its `sources` where its task is None."""
    chosen = {k: v for k, v in (("ensemble", args.ensemble), ("transfer_lr", args.transfer_lr),
                                ("transfer_epochs", args.transfer_epochs), ("source_rows", args.source_rows),
                                ("sampler", args.sampler), ("reject_side", args.reject_side),
                                ("reject_per", args.reject_per)) if v is not None}
    # the stacked read-out and the mix as asked, whatever the space's default: the other read-outs of the same
    # transfers are recorded beside it (`default_method` names the space's default among them)
    chosen.update(readout="stacked", source_mix=bool(args.source_mix))
    where = {"task": item["task"]} if item.get("task") is not None else {"sources": tuple(item["sources"])}

    def make(**more):
        return NasflatOracle(space, device, samples=n, seed=seed, **where, epochs=args.epochs,
                             hidden=args.hidden, flow_dim=args.flow_dim, source_input=args.source_input,
                             transfer_init=args.transfer_init, transfer_embedding_epochs=args.embedding_epochs,
                             **chosen, **more)

    oracle = make()
    refs = oracle.reference_archs()
    rows = np.asarray(space.table_index(refs))

    def record(method, pred, extra=None, rho=None):
        add(method, n, seed, pred, extra, rho)

    if args.rejected_only:
        rejected_only(args, lambda: make(reject_outliers=True), oracle, refs, rows, truth[rows], item, device, n,
                      seed, record)
        return
    t0 = time.perf_counter()
    oracle.adapt(refs, truth[rows])
    adapt_s = time.perf_counter() - t0
    info = {"adapt_s": round(adapt_s, 2), "init_source": "+".join(oracle.chosen_sources),
            "pretrain_s": round(oracle.setup_cost().shared_seconds, 1)}

    paper = record_readouts(oracle, "", record, info)
    if args.compare_reject:
        # the transfer with `oracle.reject_outliers` switched; where it would leave out no sample it is this one
        switched, other = not oracle.reject_outliers, oracle
        if oracle.outliers(rows, truth[rows]).size:
            other = make(reject_outliers=switched)
            other.adapt(refs, truth[rows])
        record_readouts(other, reject_suffix(switched), record, {"rejected": len((other if switched else oracle).rejected)})
    if args.compare_bags:
        # the same transfers read out with the other bagging (`oracle.readout_bags`: 0 <-> COMPARE_BAGS)
        other = 0 if oracle.readout_bags else COMPARE_BAGS
        for label, mix in (("nasflat", False), ("nasflat_mix", True))[:1 + oracle.source_mix]:
            refit = oracle.table_ms_refit(mix, other)
            add(f"{label}_bags{other}", n, seed, refit)
            add(f"{label}_blend_bags{other}", n, seed, np.sqrt(refit * paper))
    if "scratch" in args.methods:
        add("scratch", n, seed, scratch(oracle, rows, truth[rows], seed))
    if "best_source" in args.methods:
        table = np.stack([devices.latency_ms(space.name, s) for s in oracle.sources])
        pick, _ = best_source(table[:, rows], truth[rows])
        add("best_source", n, seed, table[pick], {"init_source": oracle.sources[pick]})


def rejected_only(args, rejecting, oracle, refs, rows, measured, item, device, n, seed, record) -> None:
    """`--compare-reject --rejected-only`: the space's default read-out with `reject_outliers` on (`rejecting()` makes
    that oracle), transferred only where it leaves a sample out; elsewhere it is the transfer without it, whose row of
    `--baseline` (the merged table, which the code reproduces exactly) is copied, so `--baseline` pairs every seed at a
    fraction of the cost. `item`: the task (`task`) or the validation transfer (`kind`) the row belongs to."""
    method = default_method(args.space)
    if oracle.outliers(rows, measured).size:
        other = rejecting()
        other.adapt(refs, measured)
        record_readouts(other, reject_suffix(True), record, {"rejected": len(other.rejected)})
        return
    base, key = args.baseline_frame, "kind" if "kind" in item else "task"
    hit = base[(base[key] == item[key]) & (base.device == device) & (base.samples == n) & (base.seed == seed)
               & (base.method == method)]
    if len(hit) != 1:
        raise HwnasError(f"--rejected-only: --baseline has no {method} row for {key} {item[key]}, {device}, {n} "
                         f"samples, seed {seed}")
    record(method + reject_suffix(True), None, {"rejected": 0}, rho=float(hit.spearman.iloc[0]))


def run(args, space_key: str, on_task=None) -> tuple[list, list]:
    space = devices.search_space(SPACES[space_key])
    items = plan(space, space_key)
    only = {int(t) for t in args.tasks.split(",")} if args.tasks else None
    records = []
    flop = flops(space) if "flops" in args.methods else None
    for item in items:
        if not item["covered"] or (only is not None and item["task"] not in only):
            continue
        started = time.perf_counter()
        for device in item["targets"]:
            truth = devices.latency_ms(space.name, device)
            measured = np.isfinite(truth)

            def add(method, n, seed, pred, extra=None, rho=None):
                rho = float(spearmanr(pred[measured], truth[measured]).statistic) if rho is None else rho
                records.append({"space": space_key, "task": item["task"], "device": device, "method": method,
                                "samples": n, "seed": seed, "spearman": rho, **(extra or {})})

            if flop is not None:
                add("flops", 0, 0, flop)
            for n in args.samples:
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    if args.methods & NASFLAT_METHODS:
                        nasflat_runs(args, space, item, device, n, seed, truth, add)
                    for method, members in (("help", 1), ("help_ensemble", args.help_members)):
                        if method in args.methods and n >= 10:
                            t0 = time.perf_counter()
                            pred = help_predict(space, device, item["sources"], n, seed, args.help_episodes, members)
                            if pred is None:
                                print(f"{method}: {device} left out: HELP's reference architectures are not all "
                                      "measured on it", flush=True)
                            else:
                                add(method, n, seed, pred, {"adapt_s": round(time.perf_counter() - t0, 2)})
        print(f"{space_key} task {item['task']}: {time.perf_counter() - started:.0f} s", flush=True)
        if on_task is not None:
            on_task(records, items)
    return records, items


def table(frame: pd.DataFrame, space_key: str) -> str:
    """Mean over targets, then mean ± std over seeds, per task x method x samples; the paper beside it."""
    paper = PAPER[space_key]
    lines = ["| task | method | samples | seeds | Spearman (mean ± std over seeds) | paper NASFLAT | paper HELP | per target |",
             "|---|---|---|---|---|---|---|---|"]
    for (task, method, n), part in frame.groupby(["task", "method", "samples"], sort=True):
        per_seed = part.groupby("seed")["spearman"].mean()
        per_device = part.groupby("device", sort=False)["spearman"].mean()
        lines.append(f"| {task} | {method} | {n} | {len(per_seed)} | {per_seed.mean():.3f} ± {per_seed.std(ddof=0):.3f} | "
                     f"{paper['NASFLAT'][task]} | {paper['HELP'][task]} | "
                     + ", ".join(f"{d} {v:.3f}" for d, v in per_device.items()) + " |")
    return "\n".join(lines) + "\n"


def summary(frame: pd.DataFrame, space_key: str) -> str:
    """The oracle's default read-out at each sample count per task against the paper, with the geometric mean over
    tasks."""
    method = default_method(space_key)
    part = frame[frame.method == method]
    if part.empty:
        return ""
    lines = ["| samples | " + " | ".join(f"task {t}" for t in sorted(part.task.unique())) + " | geo-mean |",
             "|---|" + "---|" * (part.task.nunique() + 1)]
    tasks = sorted(part.task.unique())
    for n in sorted(part.samples.unique()):
        means = [part[(part.samples == n) & (part.task == t)]["spearman"].mean() for t in tasks]
        lines.append(f"| {method} {n} | " + " | ".join(f"{m:.3f}" for m in means)
                     + f" | {float(np.exp(np.mean(np.log(np.clip(means, 1e-6, None))))):.3f} |")
    paper = [PAPER[space_key]["NASFLAT"][t] for t in tasks]
    lines.append("| paper NASFLAT | " + " | ".join(f"{p:.3f}" for p in paper)
                 + f" | {float(np.exp(np.mean(np.log(paper)))):.3f} |")
    return "\n".join(lines) + "\n"


def run_time(path: Path) -> float:
    """When a run's file was written: its commit time if committed and unchanged (a checkout resets file times),
    else its modification time."""
    def git(*cmd):
        try:
            return subprocess.run(["git", *cmd, "--", path.name], cwd=path.parent, capture_output=True,
                                  text=True, check=False).stdout.strip()
        except OSError:
            return ""
    committed = git("log", "-1", "--format=%ct")
    return float(committed) if committed and not git("status", "--porcelain") else path.stat().st_mtime


def merge(space_key: str) -> None:
    """One table from the runs of a space split over processes (each wrote <space>_<tag>.csv)."""
    parts = sorted(OUT.glob(f"{space_key}_*.csv"), key=run_time)
    frame = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    # A later run of the same (task, target, method, samples, seed) replaces an earlier one (a re-run after a fix).
    frame = frame.drop_duplicates(["task", "device", "method", "samples", "seed"], keep="last")
    frame.to_csv(OUT / f"{space_key}.csv", index=False)
    text = (f"# NASFLAT transfer tasks, {space_key} (merged)\n\nMerged from {', '.join(p.name for p in parts)} "
            "(oldest first; a later run of the same task, target, method, samples and seed replaces an earlier one; their "
            ".md files give each command and its wall time). Spearman over every architecture each target "
            "has measured; mean over targets, then over seeds.\n\n" + summary(frame, space_key) + "\n"
            + table(frame, space_key))
    (OUT / f"{space_key}.md").write_text(text)
    print(text)


def read_baseline(args) -> pd.DataFrame | None:
    """`--baseline`: its comma-separated result files as one frame (also `args.baseline_frame`, which
    `--rejected-only` copies rows from); None without it."""
    paths = args.baseline.split(",") if args.baseline else []
    for path in paths:
        if not Path(path).is_file():
            raise HwnasError(f"--baseline: no result file {path}")
    baseline = pd.concat([pd.read_csv(path) for path in paths]) if paths else None
    if args.rejected_only and (not args.compare_reject or baseline is None):
        raise HwnasError("--rejected-only needs --compare-reject and --baseline (rows of the same transfers with every "
                         "sample in)")
    args.baseline_frame = baseline
    return baseline


def paired(frame: pd.DataFrame, baseline: pd.DataFrame, method: str, base_method: str | None = None) -> str:
    """`--baseline`: per task and sample count, the baseline's `base_method` (default: `method`) and this run's
    `method`, mean Spearman (over targets, then seeds) on the seeds both have, and the paired difference ± its
    standard error over seeds."""
    base_method = base_method or method
    keys = ["task", "device", "samples", "seed"]
    both = frame[frame.method == method].merge(baseline[baseline.method == base_method][keys + ["spearman"]], on=keys,
                                               suffixes=("", "_base"))
    against = f"`{method}`" if base_method == method else f"this run's `{method}`, the baseline's `{base_method}`"
    lines = [f"\nAgainst the baseline ({against}, paired by target, samples and seed):\n",
             "| task | samples | seeds | baseline | this run | difference ± s.e. |", "|---|---|---|---|---|---|"]
    for (task, n), part in both.groupby(["task", "samples"]):
        per_seed = part.groupby("seed")[["spearman_base", "spearman"]].mean()
        diff = per_seed.spearman - per_seed.spearman_base
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        lines.append(f"| {task} | {n} | {len(diff)} | {per_seed.spearman_base.mean():.4f} | "
                     f"{per_seed.spearman.mean():.4f} | {diff.mean():+.4f} ± {se:.4f} |")
    return "\n".join(lines) + "\n"


def paired_all(frame: pd.DataFrame, baseline: pd.DataFrame, method: str) -> str:
    """`--baseline`: the read-out `method` paired with the baseline's; where it has no source mix and this run read its
    transfers out with it too, also that read-out against the baseline's `method` (the pair's rule,
    experiments/nasflat_validation.py)."""
    mixed = mix_method(method, frame)
    return paired(frame, baseline, method) + (paired(frame, baseline, mixed, method) if mixed else "")


def reject_paired(frame: pd.DataFrame, space_key: str) -> str:
    """`--compare-reject`: the space's default read-out of the transfer with outlier rejection switched, paired with
    it as run (the test half of the stop-33 rule, experiments/nasflat_validation.py)."""
    method = default_method(space_key)
    return "".join(paired(frame, frame, m, method) for m in (method + "_rej", method + "_norej")
                   if (frame.method == m).any())


def build_parser() -> argparse.ArgumentParser:
    """The task script's options (also the nasflat settings of experiments/nasflat_validation.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=list(SPACES), default="fbnet")
    parser.add_argument("--tasks", default=None, help="comma-separated task ids (default: every covered task)")
    parser.add_argument("--samples", default="20,10,5")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run are first-seed .. first-seed + seeds - 1 (more seeds for a merged table)")
    parser.add_argument("--epochs", type=int, default=30, help="nasflat pre-training epochs")
    parser.add_argument("--hidden", type=int, default=64, help="nasflat node state width (the paper: 96)")
    parser.add_argument("--flow-dim", type=int, default=64, help="nasflat flow width (the paper: 128)")
    parser.add_argument("--methods", default="nasflat,scratch,best_source,flops")
    parser.add_argument("--source-input", action="store_true",
                        help="nasflat: the chosen source's log ms as a read-out input (oracle.source_input)")
    parser.add_argument("--ensemble", type=int, default=None,
                        help="nasflat: pre-trainings averaged (oracle.ensemble; default: the oracle's)")
    parser.add_argument("--source-mix", type=lambda v: {"on": True, "off": False}[v], default=None,
                        help="nasflat: on: also the sources' log ms mix as a read-out input (oracle.source_mix), "
                             "recorded as nasflat_mix beside nasflat (the same transfers without it)")
    parser.add_argument("--help-episodes", type=int, default=None,
                        help="HELP meta-training episodes (default: HELP's published count, NB201 2000, FBNet 4000)")
    parser.add_argument("--help-members", type=int, default=3, help="members of help_ensemble (meta seeds 0..k-1)")
    parser.add_argument("--transfer-init", default="pooled",
                        help="nasflat: where the target embedding starts (oracle.transfer_init: pooled, best_source, mean)")
    parser.add_argument("--embedding-epochs", type=int, default=30,
                        help="nasflat: epochs fitting the target's embedding alone first (oracle.transfer_embedding_epochs)")
    parser.add_argument("--transfer-lr", type=float, default=None,
                        help="nasflat: fine-tuning learning rate (oracle.transfer_lr; default: the oracle's)")
    parser.add_argument("--transfer-epochs", type=int, default=None,
                        help="nasflat: fine-tuning epochs (oracle.transfer_epochs; default: the oracle's)")
    parser.add_argument("--source-rows", type=int, default=None,
                        help="nasflat: architectures per source device in pre-training (default: the paper's)")
    parser.add_argument("--compare-bags", action="store_true",
                        help=f"nasflat: also record the read-outs with the other bagging (0 <-> {COMPARE_BAGS} fits; "
                             "method suffix _bags<k>) from the same transfers")
    parser.add_argument("--compare-reject", action="store_true",
                        help="nasflat: also record the read-outs of the transfer with oracle.reject_outliers switched "
                             "(method suffix _rej or _norej; the same transfer where no sample would be left out)")
    parser.add_argument("--rejected-only", action="store_true",
                        help="with --compare-reject and --baseline: transfer only where rejection leaves a sample out, "
                             "else copy the baseline's row of the default read-out (stop 35)")
    parser.add_argument("--reject-per", type=int, default=None,
                        help="nasflat: oracle.reject_per, at most one sample left out in this many (stop 35)")
    parser.add_argument("--reject-side", choices=REJECT_SIDES, default=None,
                        help="nasflat: oracle.reject_side, the samples reject_outliers may leave out (stop 35)")
    parser.add_argument("--sampler", default=None,
                        help="nasflat: how the target samples are picked (oracle.sampler; default: the oracle's)")
    parser.add_argument("--baseline", default=None,
                        help="result csv(s), comma-separated, of the same runs with another setting (--sampler): the "
                             "space's default read-out compared with it, paired by target, samples and seed")
    parser.add_argument("--baseline-method", default=None,
                        help="the read-out compared with --baseline (default: the space's default read-out; "
                             "`nasflat` reproduces the stop-31/32 sampler comparisons on FBNet, made before its "
                             "default gained the source mix)")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--merge", action="store_true",
                        help="only combine <space>_*.csv of runs split by --tasks/--tag into <space>.{csv,md}")
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.merge:
        merge(args.space)
        return
    args.samples = [int(s) for s in args.samples.split(",")]
    args.methods = set(args.methods.split(","))
    torch.set_num_threads(1)
    started = time.perf_counter()
    command = " ".join(["python experiments/nasflat_tasks.py"] + (argv if argv is not None else sys.argv[1:]))

    baseline = read_baseline(args)
    method = args.baseline_method or default_method(args.space)

    def write(records, items):
        """Results so far (after every task, so a long run leaves its finished tasks behind)."""
        frame = pd.DataFrame(records)
        OUT.mkdir(parents=True, exist_ok=True)
        stem = f"{args.space}{args.tag}"
        frame.to_csv(OUT / f"{stem}.csv", index=False)
        coverage = "\n".join(f"- task {i['task']}: {'covered' if i['covered'] else 'not covered'}; sources "
                             f"{len(i['sources'])}; targets {i['targets'] or 'none'}"
                             + (f"; left out: {'; '.join(i['notes'])}" if i["notes"] else "") for i in items)
        text = (f"# NASFLAT transfer tasks, {args.space}\n\nCommand: `{command}`; {time.perf_counter() - started:.0f} s "
                f"wall so far, load average {os.getloadavg()[0]:.1f} (2 shared cores). Spearman over every "
                "architecture each target has measured.\n\n" + summary(frame, args.space) + "\n"
                + table(frame, args.space) + "\nCoverage:\n\n" + coverage + "\n"
                + (paired(frame, baseline, method + reject_suffix(True), method) if args.rejected_only else
                   (paired_all(frame, baseline, method) if baseline is not None else "")
                   + (reject_paired(frame, args.space) if args.compare_reject else "")))
        (OUT / f"{stem}.md").write_text(text)
        return text

    records, items = run(args, args.space, write)
    print(write(records, items))

if __name__ == "__main__":
    try:
        main()
    except HwnasError as exc:
        sys.exit(f"error: {exc}")
