"""Describe one architecture: text and data forms, table row, parameters, FLOPs, optional CPU latency.

    hwnas describe space=ofa_mbv3 arch='r224:k3e4,k5e6|k3e3,k7e4,k5e6|...'
    hwnas describe space=fbnet row=17 measure=true
    hwnas describe space=fbnet arch='{"op_idx_list": [...]}'   (the data's JSON form works too)

Arguments are key=value pairs read as plain text (arch strings hold ',', '|' and ':', which Hydra's
override grammar would split); the options and their defaults are `DescribeOptions` in hwnas.config.schema.
"""

from __future__ import annotations

import json
import time

import numpy as np
from omegaconf import OmegaConf

from hwnas.config import group_choices, group_file, instantiate, parse_plain
from hwnas.core.errors import HwnasError, unknown_choice

CONFIG_NAME = "describe"


def parse_args(argv: list[str]) -> dict:
    """`key=value` pairs over the schema's defaults, typed and range-checked; unknown keys name the valid ones."""
    return parse_plain(CONFIG_NAME, argv)


def describe(cfg: dict) -> dict:
    """Everything known about one architecture, as a JSON-ready dict."""
    from hwnas.data import devices
    from hwnas.measure.model_stats import flop_count, parameter_count

    if cfg["space"] not in group_choices("space"):
        raise unknown_choice("search space", cfg["space"], group_choices("space"))
    space = instantiate(OmegaConf.load(group_file("space", cfg["space"])), "search space")
    if (cfg.get("arch") is None) == (cfg.get("row") is None):
        raise HwnasError("give exactly one of arch=<text or data JSON form> or row=<table row>")
    if cfg.get("row") is not None:
        table = space.table_archs()
        try:
            row = int(cfg["row"])
        except ValueError:
            raise HwnasError(f"row must be an integer 0..{len(table) - 1}, got {cfg['row']!r}") from None
        if not 0 <= row < len(table):
            raise HwnasError(f"row {row} out of range 0..{len(table) - 1} for space {space.name}")
        arch = tuple(int(v) for v in table[row])
    else:
        arch = space.from_string(str(cfg["arch"]))
    arch = space.validate(arch)
    shape = space.input_shape(arch)
    import torch  # noqa: F401 - imported before timing the build

    start = time.perf_counter()
    net = space.build(arch)
    build_s = time.perf_counter() - start
    flops = flop_count(net, shape)
    row = int(space.table_index([arch])[0]) if _has_table(space) else -1
    out = {
        "space": space.name, "arch": space.to_string(arch), "data_form": space.to_data_form(arch),
        "table_row": row if row >= 0 else None, "input_shape": list(shape),
        "parameters": parameter_count(net), "flops": flops, "macs": flops // 2, "build_seconds": build_s,
    }
    if row >= 0:
        out["table_latency_ms"] = {name: float(devices.latency_ms(space.name, name)[row])
                                   for name in devices.devices(space.name)
                                   if np.isfinite(devices.latency_ms(space.name, name)[row])}
    if str(cfg.get("measure", False)).lower() in ("true", "1", "yes"):
        from hwnas.measure.timing import MeasurementSettings, measure_latency_ms

        result = measure_latency_ms(net, shape, MeasurementSettings(threads=int(cfg.get("threads", 1))))
        out["cpu_latency"] = result.to_dict()
    return out


def _has_table(space) -> bool:
    try:
        space.table_archs()
    except HwnasError:
        return False
    return True


def main(argv: list[str]) -> dict:
    info = describe(parse_args(argv))
    print(f"{info['space']}: {info['arch']}")
    print(f"  data form     {json.dumps(info['data_form'], separators=(',', ':'))}")
    print(f"  table row     {info['table_row'] if info['table_row'] is not None else 'not in the data set'}")
    print(f"  input         {tuple(info['input_shape'])}")
    print(f"  parameters    {info['parameters']:,} ({info['parameters'] / 1e6:.3f} M)")
    print(f"  FLOPs         {info['flops']:,} ({info['macs'] / 1e6:.1f} M multiply-accumulates)")
    print(f"  build         {info['build_seconds'] * 1e3:.1f} ms")
    if "table_latency_ms" in info:
        lat = ", ".join(f"{k} {v:.3g}" for k, v in info["table_latency_ms"].items())
        print(f"  tabled ms     {lat}")
    if "cpu_latency" in info:
        m = info["cpu_latency"]
        print(f"  this CPU      {m['median_ms']:.3f} ms median (IQR {m['iqr_ms']:.3f}, {m['repeats']} runs, "
              f"{m['settings']['threads']} thread{'s' if m['settings']['threads'] > 1 else ''}"
              f"{'' if m['stable'] else ', not stable'})")
    return info
