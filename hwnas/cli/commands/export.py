"""Export networks as model files for a deployment runtime: ONNX (default) or TorchScript, plus a JSON sidecar.

    hwnas export space=nasbench201 arch='|nor_conv_3x3~0|+|...|'        one architecture
    hwnas export run=runs/search/2026-...  format=torchscript            a run's best pick (pareto: its front)

Weights are untrained (the spaces build fresh networks): the files are for timing on a device, not for accuracy.
Arguments are plain key=value pairs (arch strings hold ',', '|' and ':'); options: `ExportOptions` in hwnas.config.schema.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from hwnas.config import group_choices, group_file, instantiate, parse_plain
from hwnas.core.errors import HwnasError, unknown_choice
from hwnas.core.space import Arch, SearchSpace

CONFIG_NAME = "export"
OFA_WEIGHTS = ("OFA's supernet weights are not shipped: this file has untrained weights. With the once-for-all "
               "package, `ofa.model_zoo.ofa_net('ofa_mbv3_d234_e346_k357_w1.2', pretrained=True)`, then "
               "`set_active_subnet(ks=..., e=..., d=...)` with this arch's kernel sizes, expand ratios and depths "
               "and `get_active_subnet()`, gives the trained subnet; export that module with torch.onnx.export "
               "and the input shape in this sidecar.")


def space_and_archs(cfg: dict) -> tuple[SearchSpace, list[Arch], str]:
    """The space and the architectures to export (an arch, or a run folder's pick or front), and their source."""
    if (cfg.get("arch") is None) == (cfg.get("run") is None):
        raise HwnasError("give exactly one of arch=<text or data JSON form> (with space=) or run=<run folder>")
    if cfg.get("run") is not None:
        return _from_run(Path(str(cfg["run"])))
    if cfg["space"] not in group_choices("space"):
        raise unknown_choice("search space", cfg["space"], group_choices("space"))
    space = instantiate(OmegaConf.load(group_file("space", cfg["space"])), "search space")
    return space, [space.validate(space.from_string(str(cfg["arch"])))], "arch"


def _from_run(folder: Path) -> tuple[SearchSpace, list[Arch], str]:
    space, summary = run_space(folder)
    if summary.get("objective") == "pareto":
        texts = [m["arch"] for m in (summary.get("pareto") or {}).get("front", [])]
        source = "pareto front"
    else:
        texts = [summary["best"]["arch"]] if summary.get("best") else []
        source = "best pick"
    if not texts:
        raise HwnasError(f"run {folder} found no architecture to export (no {source} in its summary.json)")
    return space, [space.validate(space.from_string(t)) for t in texts], source


def run_space(folder: Path) -> tuple[SearchSpace, dict]:
    """The search space of a finished run folder, and its summary."""
    summary_file = folder / "summary.json"
    if not summary_file.is_file():
        raise HwnasError(f"run folder {folder} has no summary.json (not a finished hwnas search run)")
    try:
        summary = json.loads(summary_file.read_text())
        node, name = summary["config"]["space"], summary["space"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HwnasError(f"cannot read {summary_file}: {exc}") from None
    try:
        space = instantiate(OmegaConf.create(node), "search space")
    except HwnasError:  # a run made from a checkout names its plug-ins without the hwnas. prefix
        if name not in group_choices("space"):
            raise
        space = instantiate(OmegaConf.load(group_file("space", name)), "search space")
    return space, summary


def export_arch(space: SearchSpace, arch: Arch, out: Path, fmt: str = "onnx", opset: int = 17,
                batch_size: int = 1, stem: str | None = None) -> dict:
    """Write one network's model file and sidecar into `out`; returns the sidecar (with file and seconds)."""
    from hwnas.measure.export import SUFFIX, model_bytes
    from hwnas.measure.model_stats import flop_count, parameter_count

    text = space.to_string(arch)
    stem = stem or f"{space.name}_{hashlib.sha1(text.encode()).hexdigest()[:10]}"
    shape = tuple(int(d) for d in space.input_shape(arch, batch_size))
    start = time.perf_counter()
    net = space.build(arch).eval()
    data = model_bytes(net, shape, fmt, opset)
    seconds = time.perf_counter() - start
    path = out / f"{stem}{SUFFIX[fmt]}"
    path.write_bytes(data)
    sidecar = {"space": space.name, "arch": text, "data_form": space.to_data_form(arch), "file": path.name,
               "format": fmt, "opset": int(opset) if fmt == "onnx" else None, "input_name": "input",
               "input_shape": list(shape), "input_dtype": "float32", "parameters": parameter_count(net),
               "flops": flop_count(net, shape), "weights": "untrained", "export_seconds": round(seconds, 4)}
    if space.name.startswith("ofa"):
        sidecar["weights_note"] = OFA_WEIGHTS
    (out / f"{stem}.json").write_text(json.dumps(sidecar, indent=1, default=str) + "\n")
    return sidecar


def writable_folder(out: Path) -> Path:
    """`out`, created if needed; a folder that cannot be written is a one-line error."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".hwnas_write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise HwnasError(f"cannot write to output folder {out}: {exc.strerror or exc}") from None
    return out


def main(argv: list[str]) -> list[dict]:
    cfg = parse_plain(CONFIG_NAME, argv)
    if cfg["what"] != "arch":
        from hwnas.cli.commands._offline_job import write_job

        return write_job(cfg)
    space, archs, source = space_and_archs(cfg)
    out = writable_folder(Path(str(cfg["out"])))
    if space.name.startswith("ofa"):
        print(f"note: {OFA_WEIGHTS}", file=sys.stderr)
    written = []
    for i, arch in enumerate(archs):
        stem = None if len(archs) == 1 else f"front_{i:03d}"
        sidecar = export_arch(space, arch, out, str(cfg["format"]), int(cfg["opset"]), int(cfg["batch_size"]), stem)
        written.append(sidecar)
        print(f"{out / sidecar['file']}: {sidecar['arch']} ({source}; {sidecar['parameters']:,} parameters, "
              f"{sidecar['flops'] / 1e6:.1f} MFLOPs, input {tuple(sidecar['input_shape'])}, "
              f"exported in {sidecar['export_seconds']:.2f} s)")
    return written
