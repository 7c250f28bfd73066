"""The measured data of the NAS-Bench-201, FBNet and OFA-MobileNetV3 spaces: HELP's tables (Lee et al. 2021),
OneProxy's NB201 devices (Lu et al. 2021), and what each device column is (kind, batch size, source).

Each space declares its tables from here (`latency_tables`, `reference_rows`); the files are named only
here and read with the checked readers of `hwnas.data`, once per process.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.core.records import DeviceTable, LatencyTable, ReferenceRows

NB201_SIZE = 15_625
HELP_SAMPLES = 5_000            # FBNet and OFA: HELP's sampled architectures
NB201_ARCHS_FILE = "help/nasbench201/archs.txt.gz"
ONEPROXY_FILE = "oneproxy/nb201_latency.csv.gz"

# (pattern, kind) of the device column names; first match wins. The batch size is the `_N` suffix of GPU names.
_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"^(1080ti|2080ti|titan_rtx|titanx|titanxp|titan_xp|v100)_\d+$", "GPU"),
    (r"^(gold|silver)_\w+$", "CPU"),
    (r"^(pixel2|pixel3|samsung_a50|samsung_s7|essential_ph_1|rice_pixel3)$", "phone"),
    (r"^(rice_)?raspi4$", "embedded CPU"),
    (r"^(rice_)?eyeriss$", "ASIC"),
    (r"^(rice_)?fpga$", "FPGA"),
    (r"^(rice_edgegpu|eagle_jetson|eagle_jetson_16)$", "edge GPU"),
    (r"^(rice_edgetpu|eagle_tpu)$", "edge TPU"),
    (r"^eagle_gtx$", "GPU"),
    (r"^eagle_i7$", "CPU"),
    (r"^(eagle_cpu_855|true_a76)$", "mobile CPU"),
    (r"^(eagle_gpu_855|true_630|true_640)$", "mobile GPU"),
    (r"^eagle_dsp_855$", "mobile DSP"),
    (r"^true_vpu$", "VPU"),
)
_HW_NAS_BENCH_IN_HELP = ("eyeriss", "fpga", "pixel3", "raspi4")   # HELP took these columns from HW-NAS-Bench
_ONEPROXY_ORIGIN = {"rice": "HW-NAS-Bench (Li et al. 2021)", "eagle": "EAGLE/BRP-NAS (Dudziak et al. 2020)",
                    "true": "nn-Meter (Zhang et al. 2021)"}


def device_kind(name: str) -> str:
    """The kind of device a column of these tables was measured on ("other" when no rule matches)."""
    for pattern, kind in _KIND_RULES:
        if re.match(pattern, name):
            return kind
    return "other"


def _batch_size(name: str, kind: str) -> int | None:
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if kind == "GPU" and match else None


def _help_source(name: str) -> str:
    return "HELP (Lee et al. 2021)" + (", from HW-NAS-Bench (Li et al. 2021)" if name in _HW_NAS_BENCH_IN_HELP else "")


def _oneproxy_source(name: str) -> str:
    return f"OneProxy (Lu et al. 2021), from {_ONEPROXY_ORIGIN.get(name.split('_')[0], 'OneProxy')}"


def _device_table(name: str, latency_ms: np.ndarray, source: str, table: LatencyTable) -> DeviceTable:
    latency_ms.setflags(write=False)
    kind = device_kind(name)
    return DeviceTable(name, latency_ms, kind, _batch_size(name, kind), source, table)


# ---------------------------------------------------------------- HELP (all three spaces)
@functools.lru_cache(maxsize=None)
def help_latency(folder: str, n_rows: int = HELP_SAMPLES) -> pd.DataFrame:
    """HELP's latency table of `help/<folder>/`: `n_rows` rows (the space's table rows) x devices, ms."""
    return data.latency_frame(f"help/{folder}/latency.csv.gz", "index", n_rows)


@functools.lru_cache(maxsize=None)
def help_tables(folder: str, n_rows: int, name: str, description: str) -> dict[str, DeviceTable]:
    """Every device column of HELP's `help/<folder>/` table as a DeviceTable of the data set `name`."""
    table = LatencyTable(name, description, f"help/{folder}/latency.csv.gz")
    frame = help_latency(folder, n_rows)
    return {column: _device_table(column, frame[column].to_numpy(dtype=float).copy(), _help_source(column), table)
            for column in frame.columns}


@functools.lru_cache(maxsize=None)
def help_archs(folder: str) -> dict:
    """HELP's architecture descriptions of `help/<folder>/archs.json.gz` (FBNet, OFA; see MANIFEST.md)."""
    relative = f"help/{folder}/archs.json.gz"
    archs = data.read_json(relative)
    if not isinstance(archs, dict) or len(archs.get("archs", ())) != HELP_SAMPLES:
        raise data.corrupt(relative, "expected 5,000 archs")
    return archs


@functools.lru_cache(maxsize=None)
def reference_rows(folder: str) -> ReferenceRows:
    """HELP's 10 reference architectures (rows of the space's table) for the hardware embedding."""
    relative = f"help/{folder}/hardware_embedding_index.json"
    index = data.read_json(relative)
    if not (isinstance(index, list) and all(isinstance(i, int) for i in index)):
        raise HwnasError(f"corrupt data file {relative}")
    return ReferenceRows(tuple(index), relative)


# ---------------------------------------------------------------- NAS-Bench-201
@functools.lru_cache(maxsize=None)
def nb201_arch_strings() -> tuple[str, ...]:
    """Official NAS-Bench-201 arch strings; position i is index i."""
    lines = data.read_lines(NB201_ARCHS_FILE)
    if len(lines) != NB201_SIZE:
        raise data.corrupt(NB201_ARCHS_FILE, f"{len(lines)} architectures, expected {NB201_SIZE}")
    return lines


def nb201_help_latency() -> pd.DataFrame:
    """HELP's NB201 latency table: 15,625 rows (official index) x 27 devices, ms."""
    return help_latency("nasbench201", NB201_SIZE)


@functools.lru_cache(maxsize=None)
def nb201_oneproxy_latency() -> pd.DataFrame:
    """OneProxy's 1,999 NB201 architectures x 18 devices, ms, indexed by NB201 index; -1 (missing) -> NaN."""
    frame = data.read_csv(ONEPROXY_FILE)
    for column in ("nb201_index", "arch_str"):
        if column not in frame:
            raise data.corrupt(ONEPROXY_FILE, f"no column {column!r}")
    frame = frame.set_index("nb201_index").drop(columns=[c for c in ("row", "arch_str") if c in frame])
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise data.corrupt(ONEPROXY_FILE, "non-numeric latency values") from None
    values[values < 0] = np.nan
    if np.isnan(values).all(axis=0).any() or frame.index.duplicated().any():
        raise data.corrupt(ONEPROXY_FILE, "empty device column or duplicated index")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


@functools.lru_cache(maxsize=None)
def nb201_tables() -> dict[str, DeviceTable]:
    """NB201's devices: HELP's 27 on every index, then OneProxy's 18 on its 1,999 (NaN elsewhere)."""
    out = dict(help_tables("nasbench201", NB201_SIZE, "nb201_help",
                           "NAS-Bench-201, HELP's 27 devices on all 15,625 architectures"))
    table = LatencyTable("nb201_oneproxy", "NAS-Bench-201, OneProxy's 18 devices on its 1,999 architectures",
                         ONEPROXY_FILE)
    sub = nb201_oneproxy_latency()
    for column in sub.columns:
        vector = np.full(NB201_SIZE, np.nan)
        vector[sub.index.to_numpy()] = sub[column].to_numpy(dtype=float)
        out[column] = _device_table(column, vector, _oneproxy_source(column), table)
    return out
