"""Read-only access to the measured data in `../shared/data` (or `$HWNAS_DATA_DIR`).

Every table listed in the data folder's MANIFEST.md is loaded here, once per process (cached), and
checked on the way in, so that a missing or corrupt file is a one-line error naming the file.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.core.errors import HwnasError

ENV_VAR = "HWNAS_DATA_DIR"
NB201_SIZE = 15_625


def _candidate_dirs() -> list[Path]:
    project_root = Path(__file__).resolve().parents[2]
    return [project_root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"]


@functools.lru_cache(maxsize=None)
def data_dir() -> Path:
    """The data folder: `$HWNAS_DATA_DIR` if set, else `../shared/data` beside the project."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not (path / "MANIFEST.md").is_file():
            raise HwnasError(f"{ENV_VAR}={env} does not hold the hwnas data (no MANIFEST.md there)")
        return path.resolve()
    looked = _candidate_dirs()
    for path in looked:
        if (path / "MANIFEST.md").is_file():
            return path.resolve()
    raise HwnasError(
        "data folder not found; looked in " + ", ".join(str(p) for p in looked)
        + f". Point {ENV_VAR} at the folder that holds MANIFEST.md"
    )


def data_file(relative: str) -> Path:
    path = data_dir() / relative
    if not path.is_file():
        raise HwnasError(f"data file missing: {path}")
    return path


def _read_csv(relative: str, **kwargs) -> pd.DataFrame:
    path = data_file(relative)
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


def _read_json(relative: str):
    path = data_file(relative)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            return json.load(fh)
    except (OSError, EOFError, ValueError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


def _latency_frame(relative: str, index_col: str, expected_rows: int) -> pd.DataFrame:
    frame = _read_csv(relative, index_col=index_col)
    if len(frame) != expected_rows or not np.array_equal(frame.index.to_numpy(), np.arange(expected_rows)):
        raise HwnasError(f"corrupt data file {data_dir() / relative}: expected rows indexed 0..{expected_rows - 1}")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if not np.isfinite(values).all():
        raise HwnasError(f"corrupt data file {data_dir() / relative}: non-numeric latency values")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


# ---------------------------------------------------------------- NAS-Bench-201
@functools.lru_cache(maxsize=None)
def nb201_arch_strings() -> tuple[str, ...]:
    """Official NAS-Bench-201 arch strings; position i is index i."""
    path = data_file("help/nasbench201/archs.txt.gz")
    try:
        with gzip.open(path, "rt") as fh:
            lines = tuple(line.strip() for line in fh if line.strip())
    except (OSError, EOFError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None
    if len(lines) != NB201_SIZE:
        raise HwnasError(f"corrupt data file {path}: {len(lines)} architectures, expected {NB201_SIZE}")
    return lines


@functools.lru_cache(maxsize=None)
def nb201_help_latency() -> pd.DataFrame:
    """HELP's NB201 latency table: 15,625 rows (official index) x 27 devices, ms."""
    return _latency_frame("help/nasbench201/latency.csv.gz", "index", NB201_SIZE)


@functools.lru_cache(maxsize=None)
def nb201_oneproxy_latency() -> pd.DataFrame:
    """OneProxy's 1,999 NB201 architectures x 18 devices, ms, indexed by NB201 index; -1 (missing) -> NaN."""
    path = "oneproxy/nb201_latency.csv.gz"
    frame = _read_csv(path)
    for column in ("nb201_index", "arch_str"):
        if column not in frame:
            raise HwnasError(f"corrupt data file {data_dir() / path}: no column {column!r}")
    frame = frame.set_index("nb201_index").drop(columns=[c for c in ("row", "arch_str") if c in frame])
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise HwnasError(f"corrupt data file {data_dir() / path}: non-numeric latency values") from None
    values[values < 0] = np.nan
    if np.isnan(values).all(axis=0).any() or frame.index.duplicated().any():
        raise HwnasError(f"corrupt data file {data_dir() / path}: empty device column or duplicated index")
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


@functools.lru_cache(maxsize=None)
def nb201_accuracy(dataset: str, epochs: int = 200) -> np.ndarray:
    """NB201 test accuracy (%) for every index: 200 epochs (NATS-Bench means) or 12 epochs (mini-bench)."""
    if dataset not in NB201_DATASETS:
        from hwnas.core.errors import unknown_choice

        raise unknown_choice("NAS-Bench-201 data set", dataset, NB201_DATASETS)
    if epochs == 200:
        path = "nb201-acc-200ep/nats_bench_tss_200ep_test_acc.csv.gz"
        column = {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs",
                  "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}[dataset]
        frame = _read_csv(path)
        arch_column = "ArchitectureString"
    elif epochs == 12:
        path = "nb201-acc-12ep/mini-bench-arch-cell-accs.csv.gz"
        column = {"cifar10": "cifar10-test", "cifar100": "cifar100-test", "ImageNet16-120": "imagenet-test"}[dataset]
        frame = _read_csv(path)
        arch_column = "cellstr"
    else:
        raise HwnasError(f"NAS-Bench-201 accuracy exists for epochs=200 or epochs=12, not {epochs}")
    if column not in frame or arch_column not in frame or len(frame) != NB201_SIZE:
        raise HwnasError(f"corrupt data file {data_dir() / path}: expected {NB201_SIZE} rows with {column!r}")
    if tuple(frame[arch_column]) != nb201_arch_strings():
        raise HwnasError(f"corrupt data file {data_dir() / path}: rows are not in NAS-Bench-201 index order")
    accuracy = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(accuracy).all():
        raise HwnasError(f"corrupt data file {data_dir() / path}: non-numeric accuracy")
    accuracy.setflags(write=False)
    return accuracy


# ---------------------------------------------------------------- FBNet and OFA (HELP's 5,000 samples)
@functools.lru_cache(maxsize=None)
def help_latency(space_dir: str) -> pd.DataFrame:
    """HELP's latency table for `fbnet` or `ofa`: 5,000 rows x devices, ms."""
    return _latency_frame(f"help/{space_dir}/latency.csv.gz", "index", 5_000)


@functools.lru_cache(maxsize=None)
def help_archs(space_dir: str) -> dict:
    """HELP's architecture descriptions for `fbnet` or `ofa` (JSON, see MANIFEST.md)."""
    archs = _read_json(f"help/{space_dir}/archs.json.gz")
    if not isinstance(archs, dict) or len(archs.get("archs", ())) != 5_000:
        raise HwnasError(f"corrupt data file {data_dir() / f'help/{space_dir}/archs.json.gz'}: expected 5,000 archs")
    return archs


@functools.lru_cache(maxsize=None)
def hardware_embedding_index(space_dir: str) -> tuple[int, ...]:
    """HELP's 10 reference architecture indices (rows of the space's table) for the hardware embedding."""
    index = _read_json(f"help/{space_dir}/hardware_embedding_index.json")
    if not (isinstance(index, list) and all(isinstance(i, int) for i in index)):
        raise HwnasError(f"corrupt data file help/{space_dir}/hardware_embedding_index.json")
    return tuple(index)


@functools.lru_cache(maxsize=None)
def ofa_accuracy_predictor_weights() -> dict[str, np.ndarray]:
    """Once-for-All's published MobileNetV3 ImageNet top-1 predictor (MLP 128-400-400-400-1) weights."""
    path = data_file("ofa-acc-predictor/acc_predictor.npz")
    try:
        with np.load(path) as npz:
            return {key: npz[key].astype(np.float64) for key in npz.files}
    except (OSError, ValueError) as exc:
        raise HwnasError(f"corrupt data file {path}: {exc}") from None


@functools.lru_cache(maxsize=None)
def nasflat_tasks() -> dict:
    """The few-shot transfer tasks of Akhauri & Abdelfattah (2024)."""
    return _read_json("nasflat/tasks.json")
