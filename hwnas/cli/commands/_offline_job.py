"""An offline measurement job for a device that cannot run Python (a phone, an MCU, an FPGA): model files plus
`manifest.csv` (arch, file, empty latency_ms) to fill with the device's own benchmark tool and bring back with
`hwnas import space=... device=local-<name> file=<job>/manifest.csv`."""

from __future__ import annotations

import csv
from pathlib import Path

from omegaconf import OmegaConf

from hwnas.cli.commands.export import export_arch, run_space, writable_folder
from hwnas.config import group_choices, group_file, instantiate
from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.space import Arch, SearchSpace

MANIFEST = "manifest.csv"


def reference_archs(cfg: dict) -> tuple[SearchSpace, list[Arch], str]:
    """The oracle's reference architectures for `device`, as `hwnas search` would measure them to adapt."""
    for key in ("oracle", "device"):
        if cfg.get(key) is None:
            raise HwnasError(f"what=references needs {key}=<name> (the oracle to adapt, the device it is for)")
    for group, name in (("space", cfg["space"]), ("oracle", cfg["oracle"])):
        if name not in group_choices(group):
            raise unknown_choice(group, name, group_choices(group))
    space = instantiate(OmegaConf.load(group_file("space", cfg["space"])), "search space")
    root = OmegaConf.create({"samples": int(cfg["samples"]), "seed": int(cfg["seed"]), "device": cfg["device"],
                             "oracle": OmegaConf.load(group_file("oracle", cfg["oracle"]))})
    oracle = instantiate(root.oracle, "oracle", space=space, device=str(cfg["device"]))
    archs = [tuple(int(v) for v in a) for a in oracle.reference_archs()]
    if not archs:
        raise HwnasError(f"oracle {cfg['oracle']} takes no target measurements: there is nothing to measure")
    return space, archs, f"{cfg['oracle']}'s references for {cfg['device']}"


def candidate_archs(cfg: dict) -> tuple[SearchSpace, list[Arch], str]:
    """A run's top `count` candidates in the order its verify step measures them."""
    from hwnas.engine.journal import Journal
    from hwnas.engine.verify import rank_candidates

    if cfg.get("run") is None:
        raise HwnasError("what=candidates needs run=<a search run folder>")
    folder = Path(str(cfg["run"]))
    space, _ = run_space(folder)
    if not (folder / "trials.jsonl").is_file():
        raise HwnasError(f"run folder {folder} has no trials.jsonl")
    ranked = rank_candidates(Journal(folder / "trials.jsonl").read())[: int(cfg["count"])]
    return space, [space.from_string(c.arch) for c in ranked], f"top {len(ranked)} candidates of {folder}"


def write_job(cfg: dict) -> list[dict]:
    """Export the job's networks and write its manifest; the sidecars of the written networks."""
    space, archs, source = reference_archs(cfg) if cfg["what"] == "references" else candidate_archs(cfg)
    out = writable_folder(Path(str(cfg["out"])))
    written = [export_arch(space, arch, out, str(cfg["format"]), int(cfg["opset"]), int(cfg["batch_size"]),
                           stem=f"{cfg['what']}_{i:03d}") for i, arch in enumerate(archs)]
    with open(out / MANIFEST, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch", "file", "latency_ms"])
        writer.writerows([s["arch"], s["file"], ""] for s in written)
    print(f"wrote {len(written)} networks ({source}) and {out / MANIFEST}: fill latency_ms with the device's own "
          f"measurements (ms, batch {int(cfg['batch_size'])}), then `hwnas import space={space.name} "
          f"device=local-<name> file={out / MANIFEST}`")
    return written
