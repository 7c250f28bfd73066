"""The three spaces' shipped data (HELP, OneProxy): tables, declared latency tables, and clear errors
for missing or corrupt files."""

from __future__ import annotations

import gzip
import shutil

import pytest

from hwnas import data
from hwnas.core.errors import HwnasError
from hwnas.data import devices
from hwnas.search_spaces import _help_data, nasbench201
from hwnas.search_spaces.fbnet import FBNet
from hwnas.search_spaces.ofa_mbv3 import OfaMobileNetV3


def _clear_caches():
    for module in (data, devices, _help_data, nasbench201):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


@pytest.fixture
def fresh_caches():
    _clear_caches()
    yield
    _clear_caches()


def test_nb201_tables_have_every_architecture():
    assert len(_help_data.nb201_arch_strings()) == 15_625
    latency = _help_data.nb201_help_latency()
    assert latency.shape == (15_625, 27)
    assert (latency.to_numpy() > 0).all()


def test_oneproxy_missing_values_are_nan():
    frame = _help_data.nb201_oneproxy_latency()
    assert frame.shape == (1_999, 18)
    assert frame["rice_edgetpu"].isna().sum() == 259
    assert (frame.fillna(1.0).to_numpy() > 0).all()


def test_each_space_declares_its_tables_and_reference_rows(nb201):
    tables = nb201.latency_tables()
    assert [t.table.name for t in tables.values()].count("nb201_help") == 27
    assert tables["rice_fpga"].table.file == "oneproxy/nb201_latency.csv.gz"
    assert tables["pixel3"].table.file == "help/nasbench201/latency.csv.gz" and tables["pixel3"].n_archs == 15_625
    assert not tables["pixel3"].latency_ms.flags.writeable
    for space, n_devices in ((FBNet(), 27), (OfaMobileNetV3(), 12)):
        declared = space.latency_tables()
        assert len(declared) == n_devices
        assert {len(t.latency_ms) for t in declared.values()} == {len(space.table_archs())}
        rows = space.reference_rows()
        assert len(rows.rows) == 10 and rows.file.endswith("hardware_embedding_index.json")
    assert nb201.reference_rows().rows == tuple(_help_data.reference_rows("nasbench201").rows)


def test_kinds_come_from_the_column_names():
    assert _help_data.device_kind("titan_rtx_256") == "GPU"
    assert _help_data.device_kind("rice_edgetpu") == "edge TPU"
    assert _help_data.device_kind("toaster") == "other"


def test_a_degenerate_nb201_cell_is_noted(nb201):
    assert nb201.arch_note((0,) * 6).startswith("cell output cut off")
    assert nb201.arch_note((3, 0, 0, 0, 3, 0)) == ""
    assert FBNet().arch_note((0,) * 22) == ""


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
        _help_data.nb201_help_latency()
    with pytest.raises(HwnasError, match=r"corrupt data file .*latency.csv.gz"):
        devices.latency_ms("nasbench201", "pixel3")


def test_non_numeric_latency_is_a_clear_error(data_copy):
    path = data_copy / "help" / "nasbench201" / "latency.csv.gz"
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    lines[5] = lines[5].replace(",", ",oops,", 1).rsplit(",", 1)[0]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    with pytest.raises(HwnasError, match="corrupt data file"):
        _help_data.nb201_help_latency()


def test_missing_file_is_named(data_copy):
    (data_copy / "help" / "nasbench201" / "archs.txt.gz").unlink()
    with pytest.raises(HwnasError, match="data file missing: .*archs.txt.gz"):
        _help_data.nb201_arch_strings()


def test_a_missing_oneproxy_table_is_named_by_the_catalogue(data_copy):
    with pytest.raises(HwnasError, match="data file missing: .*oneproxy/nb201_latency.csv.gz"):
        devices.devices("nasbench201")
