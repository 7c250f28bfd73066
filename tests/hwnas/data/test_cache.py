"""The cache folder and atomic cache writes (hwnas.data.cache)."""

from __future__ import annotations

import pytest

from hwnas.core.errors import HwnasError
from hwnas.data import cache


def test_a_cache_dir_that_is_a_file_is_a_one_line_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for value in (blocker, blocker / "below"):
        monkeypatch.setenv(cache.ENV_VAR, str(value))
        with pytest.raises(HwnasError, match=f"HWNAS_CACHE_DIR=.*{blocker} is a file, not a folder"):
            cache.cache_dir()
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "new" / "folder"))
    assert cache.cache_dir() == tmp_path / "new" / "folder"


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.json"
    cache.atomic_write_json(path, {"a": 1})
    cache.atomic_write_text(path, '{"a": 2}')
    assert path.read_text() == '{"a": 2}'

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.atomic_write(path, fail)
    assert path.read_text() == '{"a": 2}' and sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_an_unwritable_cache_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(HwnasError, match="is a file, not a folder"):
        cache.atomic_write_text(tmp_path / "file" / "a.json", "{}")
