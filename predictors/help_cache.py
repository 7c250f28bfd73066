"""The cache of HELP's meta-trained weights: one file per (data, space, meta-config, code version).

Folder: `$HWNAS_CACHE_DIR`, else `~/.cache/hwnas`. A file whose stored key differs from the key
asked for (copied in, written by another version) or that cannot be read is never used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hwnas import data
from hwnas.data import cache, devices

CACHE_ENV = cache.ENV_VAR
FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The cache folder (`$HWNAS_CACHE_DIR`, else ~/.cache/hwnas); a file there is a one-line error."""
    return cache.cache_dir()


def writable_cache() -> Path:
    """The folder of HELP's weights, created; one that cannot be written is a one-line error."""
    return cache.writable_folder(cache_dir() / "help", "HELP cache folder")


def code_version() -> str:
    """The model version (bumped with any change to the model or training math) and hwnas's version."""
    from hwnas.core.version import __version__
    from hwnas.predictors.help_meta import MODEL_VERSION

    return f"help-{MODEL_VERSION}/hwnas-{__version__}"


def data_files(space, cfg) -> list[str]:
    """The data files meta-training on `space` with the resolved MetaConfig `cfg` reads: the tables of its
    train and valid devices, then the file of the space's reference rows."""
    shipped = devices.tables(space.name)
    files = [shipped[d].table.file for d in (*cfg.train_devices, *cfg.valid_devices) if d in shipped]
    return [f for f in dict.fromkeys([*files, space.reference_rows().file]) if f]


def data_identity(files) -> dict:
    """Content hashes of the data files the meta-training reads (latency tables, reference rows)."""
    return {rel: hashlib.sha256(data.data_file(rel).read_bytes()).hexdigest()[:16] for rel in files}


def cache_key(space, cfg) -> dict:
    """The key of HELP meta-trained on `space` with the resolved MetaConfig `cfg`."""
    return {"format": FORMAT_VERSION, "code": code_version(), "space": space.name,
            "data": data_identity(data_files(space, cfg)), "config": cfg.to_dict()}


def cache_path(key: dict) -> Path:
    return cache.keyed_path("help", key)


def load(key: dict) -> dict | None:
    """The cached entry for `key`, None if absent; HwnasError if present but unusable."""
    return cache.load_keyed(cache_path(key), key, "HELP cache", "delete it or retrain with force=true")


def save(key: dict, entry: dict) -> Path:
    return cache.save_keyed(cache_path(key), key, entry)
