"""HELP on the few-shot transfer tasks of Akhauri & Abdelfattah, "On Latency Predictors for NAS" (2024).

    python experiments/help_nasflat.py --seeds 5 --episodes 1000

Each task of ../shared/data/nasflat/tasks.json names source (meta-train) and unseen target devices. Per
task, HELP is meta-trained on the task's sources (validation: HELP's validation devices that are neither
a source nor a target), then adapted on each target with 10 samples under HELP's protocol (see
help_reproduction.py); so is the `help_ensemble` variant. A task is covered when every source device has a
full latency table here and a target has latencies for the 10 reference architectures (the embedding).
Writes experiments/results/help/nasflat.{md,csv}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from help_reproduction import OUT, help_predict, load_learners, load_space  # noqa: E402
from hwnas import data  # noqa: E402
from hwnas.data import devices  # noqa: E402
from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.predictors.help_ensemble import select_members  # noqa: E402
from hwnas.predictors.help_meta import MetaConfig, SpaceData, device_task  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

SPACES = {"nb201": "nasbench201", "fbnet": "fbnet"}


def device_latency(space: str, name: str, alias: dict) -> np.ndarray | None:
    """The device's latency over the space's table rows (NaN where unmeasured), None if unknown here."""
    try:
        return devices.latency_ms(space, alias.get(name, name))
    except HwnasError:
        return None


def plan(tasks: dict, space_key: str, sd: SpaceData) -> list[dict]:
    """Per task: sources, validation devices, covered targets, and why anything is left out."""
    alias = tasks.get("eagle_alias_inferred", {})
    space = SPACES[space_key]
    out = []
    for task_id, task in tasks[space_key].items():
        notes, sources = [], []
        for name in task["train"]:
            lat = device_latency(space, name, alias)
            if lat is None or not np.isfinite(lat).all():
                notes.append(f"source {name}: " + ("no data here" if lat is None else
                                                   f"measured on {int(np.isfinite(lat).sum())} of {len(lat)} archs only"))
            sources.append(alias.get(name, name))
        targets = []
        for name in task["test"]:
            lat = device_latency(space, name, alias)
            if lat is None:
                notes.append(f"target {name}: no data here")
            elif not np.isfinite(lat[sd.reference_rows]).all():
                notes.append(f"target {name} ({alias.get(name, name)}): {int(np.isfinite(lat[sd.reference_rows]).sum())}"
                             f" of the 10 reference archs measured, no hardware embedding")
            else:
                targets.append(alias.get(name, name))
        valid = [d for d in tasks["help_default_validation_devices"][space_key]
                 if d not in sources and d not in targets]
        covered = not any(n.startswith("source") for n in notes) and targets and valid
        out.append({"task": int(task_id), "sources": sources, "valid": valid, "targets": targets if covered else [],
                    "notes": notes, "covered": bool(covered)})
    return out


def run(space_key: str, seeds: int, episodes: int | None, members: int, only: set[int] | None) -> tuple[list, list]:
    tasks = json.loads(data.data_file("nasflat/tasks.json").read_text())
    space = load_space(SPACES[space_key])
    probe = MetaConfig(episodes=episodes).resolved(space.name)
    sd = SpaceData(space, probe.encoding)
    records, plans = [], plan(tasks, space_key, sd)
    for item in plans:
        if not item["covered"] or (only is not None and item["task"] not in only):
            continue
        cfg = MetaConfig(train_devices=tuple(item["sources"]), valid_devices=tuple(item["valid"]),
                         episodes=episodes).resolved(space.name)
        started = time.perf_counter()
        learners, entries = load_learners(sd, cfg, members, train_if_missing=True)
        chosen = learners
        if members > 1:
            picked, _ = select_members(space, [l.cfg for l in learners], learners, sd, 3)
            chosen = [learners[i] for i in picked]
            item["selected"] = picked
        item["meta_train_s"] = [round(e["seconds"]) for e in entries]
        item["best_valid"] = [round(e["best_valid_spearman"], 3) for e in entries]
        for device in item["targets"]:
            task = device_task(sd, device, cfg)
            truth = sd.latency_ms(device)[task.query_rows]
            for seed in range(seeds):
                support = np.random.default_rng(seed).choice(task.train_rows, 10, replace=False)
                both = np.r_[sd.reference_rows, support]
                preds = {"HELP": help_predict(learners[:1], sd, task, support, task.query_rows, seed)}
                if members > 1:
                    preds["help_ensemble"] = help_predict(chosen, sd, task, both, task.query_rows, seed)
                for method, pred in preds.items():
                    records.append({"space": space_key, "task": item["task"], "device": device, "method": method,
                                    "seed": seed, "spearman": float(spearmanr(pred, truth).statistic)})
        print(f"{space_key} task {item['task']}: {time.perf_counter() - started:.0f} s", flush=True)
    return records, plans


def table(frame: pd.DataFrame, plans: dict) -> str:
    lines = ["| space | task | targets | method | mean Spearman ± std over seeds | per target |", "|---|---|---|---|---|---|"]
    for (space_key, task_id, method), part in frame.groupby(["space", "task", "method"], sort=True):
        per_seed = part.groupby("seed")["spearman"].mean()
        per_device = part.groupby("device", sort=False)["spearman"].mean()
        lines.append(f"| {space_key} | {task_id} | {len(per_device)} | {method} | {per_seed.mean():.3f} ± "
                     f"{per_seed.std(ddof=0):.3f} | " + ", ".join(f"{d} {v:.3f}" for d, v in per_device.items()) + " |")
    lines.append("\nCoverage (tasks.json gives no per-task figures of the paper to compare with):\n")
    for space_key, items in plans.items():
        for item in items:
            status = "covered" if item["covered"] else "not covered"
            if item["covered"] and "meta_train_s" not in item:
                status += " (not run by this command" + ("; HELP's own split: see fbnet.md / nasbench201.md)"
                                                         if item["task"] == 0 else ")")
            extra = (f"; meta-training {item['meta_train_s']} s wall, best validation {item['best_valid']}"
                     if "meta_train_s" in item else "")
            lines.append(f"- {space_key} task {item['task']}: {status}; sources {len(item['sources'])}, validation "
                         f"{item['valid'] or 'none left'}, targets {item['targets'] or 'none'}"
                         + (f"; left out: {'; '.join(item['notes'])}" if item["notes"] else "") + extra)
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=["nb201", "fbnet", "all"], default="all")
    parser.add_argument("--tasks", type=str, default=None, help="comma-separated task ids (default: all covered)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=None, help="meta-training episodes (default: HELP's)")
    parser.add_argument("--members", type=int, default=3, help="members of the help_ensemble variant (1: HELP only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    only = {int(t) for t in args.tasks.split(",")} if args.tasks else None
    started = time.perf_counter()
    records, plans = [], {}
    for space_key in (["nb201", "fbnet"] if args.space == "all" else [args.space]):
        part, plans[space_key] = run(space_key, args.seeds, args.episodes, args.members, only)
        records += part
    frame = pd.DataFrame(records)
    OUT.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT / "nasflat_spearman.csv", index=False)
    command = " ".join(["python experiments/help_nasflat.py"] + (argv if argv is not None else sys.argv[1:]))
    text = (f"# HELP on the NASFLAT transfer tasks (Akhauri & Abdelfattah, 2024)\n\nCommand: `{command}`; "
            f"{time.perf_counter() - started:.0f} s wall, load average {os.getloadavg()[0]:.1f} at the end (2 shared "
            "cores). HELP's protocol per target: 10 samples from the inliers of the meta-training rows, Spearman on "
            "the inliers of the next 1,000 rows. `HELP`: adapted on the 10 samples; `help_ensemble`: the "
            "oracle of that name (k meta seeds, the validation-best subset, adapted on the samples and the 10 references).\n\n"
            + (table(frame, plans) if len(frame) else "no covered task run\n"))
    (OUT / "nasflat.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
