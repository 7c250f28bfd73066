"""Data access: folder resolution and the generic checked readers' clear errors for missing or corrupt files."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from hwnas import data
from hwnas.core.errors import HwnasError


@pytest.fixture
def fresh_caches():
    data.data_dir.cache_clear()
    yield
    data.data_dir.cache_clear()


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
def folder(monkeypatch, tmp_path, fresh_caches):
    """An empty data folder selected through HWNAS_DATA_DIR."""
    (tmp_path / "MANIFEST.md").write_text("test data\n")
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    return tmp_path


def _write_gz(path, text: str) -> None:
    with gzip.open(path, "wt") as fh:
        fh.write(text)


def test_readers_read_plain_and_gzipped_files(folder):
    _write_gz(folder / "t.csv.gz", "index,a,b\n0,1.5,2\n1,3,4\n")
    (folder / "t.json").write_text('{"x": [1, 2]}')
    _write_gz(folder / "lines.txt.gz", "one\n\n  two \n")
    assert data.read_csv("t.csv.gz").shape == (2, 3)
    assert data.read_json("t.json") == {"x": [1, 2]}
    assert data.read_lines("lines.txt.gz") == ("one", "two")
    frame = data.latency_frame("t.csv.gz", "index", 2)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["a", "b"]
    np.testing.assert_array_equal(frame.to_numpy(), [[1.5, 2.0], [3.0, 4.0]])


def test_missing_file_is_named(folder):
    with pytest.raises(HwnasError, match="data file missing: .*nothing.csv"):
        data.read_csv("nothing.csv")


@pytest.mark.parametrize("text, message", [
    ("index,a\n0,1\n2,3\n", "expected rows indexed 0..1"),
    ("index,a\n0,1\n1,oops\n", "non-numeric latency values"),
    ("index,a\n0,1\n1,\n", "non-numeric latency values"),
])
def test_a_bad_latency_frame_is_one_line_naming_the_file(folder, text, message):
    (folder / "bad.csv").write_text(text)
    with pytest.raises(HwnasError, match=rf"corrupt data file .*bad.csv: {message}"):
        data.latency_frame("bad.csv", "index", 2)


def test_truncated_or_malformed_files_are_clear_errors(folder):
    _write_gz(folder / "t.csv.gz", "index,a\n" + "".join(f"{i},{i}.5\n" for i in range(5000)))
    (folder / "t.csv.gz").write_bytes((folder / "t.csv.gz").read_bytes()[:200])
    with pytest.raises(HwnasError, match=r"corrupt data file .*t.csv.gz"):
        data.read_csv("t.csv.gz")
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(HwnasError, match=r"corrupt data file .*bad.json"):
        data.read_json("bad.json")
