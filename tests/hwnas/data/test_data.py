"""Data access: folder resolution, cached tables, and clear errors for missing or corrupt files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from hwnas import data

from hwnas.data import devices
from hwnas.core.errors import HwnasError


def _clear_caches():
    for module in (data, devices):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


@pytest.fixture
def fresh_caches():
    _clear_caches()
    yield
    _clear_caches()


def test_nb201_tables_have_every_architecture():
    assert len(data.nb201_arch_strings()) == 15_625
    latency = data.nb201_help_latency()
    assert latency.shape == (15_625, 27)
    assert (latency.to_numpy() > 0).all()


def test_accuracy_tables_are_in_index_order():
    top1 = data.nb201_accuracy("cifar10")
    assert top1.shape == (15_625,)
    assert top1.max() == pytest.approx(94.37, abs=0.01)  # NATS-Bench's best CIFAR-10 mean (MANIFEST.md)
    assert data.nb201_accuracy("cifar100").max() == pytest.approx(73.51, abs=0.01)
    low = data.nb201_accuracy("cifar10", epochs=12)
    assert low.shape == (15_625,) and not np.allclose(low, top1)


def test_oneproxy_missing_values_are_nan():
    frame = data.nb201_oneproxy_latency()
    assert frame.shape == (1_999, 18)
    assert frame["rice_edgetpu"].isna().sum() == 259
    assert (frame.fillna(1.0).to_numpy() > 0).all()


def test_unknown_dataset_and_epochs_are_refused():
    with pytest.raises(HwnasError, match="cifar100"):
        data.nb201_accuracy("cifar101")
    with pytest.raises(HwnasError, match="epochs=200 or epochs=12"):
        data.nb201_accuracy("cifar10", epochs=50)


def test_env_var_pointing_nowhere_is_explained(monkeypatch, tmp_path, fresh_caches):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    with pytest.raises(HwnasError, match="MANIFEST.md"):
        data.data_dir()


def test_missing_data_folder_says_where_it_looked(monkeypatch, tmp_path, fresh_caches):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "_candidate_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(HwnasError, match=r"looked in .*nowhere.*HWNAS_DATA_DIR"):
        data.data_dir()


@pytest.fixture
def data_copy(monkeypatch, tmp_path, fresh_caches):
    """A writable copy of the NB201 part of the data, selected through HWNAS_DATA_DIR."""
    source = data.data_dir()
    target = tmp_path / "data"
    (target / "help").mkdir(parents=True)
    shutil.copy(source / "MANIFEST.md", target / "MANIFEST.md")
    shutil.copytree(source / "help" / "nasbench201", target / "help" / "nasbench201")
    monkeypatch.setenv(data.ENV_VAR, str(target))
    _clear_caches()
    return target


def test_truncated_latency_file_is_a_clear_error(data_copy):
    path = data_copy / "help" / "nasbench201" / "latency.csv.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(HwnasError, match=r"corrupt data file .*latency.csv.gz"):
        data.nb201_help_latency()


def test_non_numeric_latency_is_a_clear_error(data_copy):
    path = data_copy / "help" / "nasbench201" / "latency.csv.gz"
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    lines[5] = lines[5].replace(",", ",oops,", 1).rsplit(",", 1)[0]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    with pytest.raises(HwnasError, match="corrupt data file"):
        data.nb201_help_latency()


def test_missing_file_is_named(data_copy):
    (data_copy / "help" / "nasbench201" / "archs.txt.gz").unlink()
    with pytest.raises(HwnasError, match="data file missing: .*archs.txt.gz"):
        data.nb201_arch_strings()
