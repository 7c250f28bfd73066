"""Bad paths and damaged files through the real command line: one line (`hwnas <cmd>: error: ...`), exit 2,
never a hang or a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli_runner import hwnas


def _one_line_error(result, *parts: str) -> None:
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("hwnas ") and ": error: " in lines[0]
    for part in parts:
        assert part in lines[0], lines[0]


@pytest.fixture
def unwritable(tmp_path):
    """A folder nothing can be created in: mode 0555, or (as root, which ignores it) read-only /sys."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield (folder if not os.access(folder, os.W_OK) else Path("/sys/hwnas-test")) / "out"
    folder.chmod(0o755)


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


def test_cache_dir_that_is_a_file_fails_at_once_instead_of_training(tmp_path, a_file):
    result = hwnas("search", "oracle=help", "device=pixel3", "progress=false", f"hydra.run.dir={tmp_path / 'r'}",
                   env={"HWNAS_CACHE_DIR": str(a_file)}, timeout=60)
    _one_line_error(result, "HWNAS_CACHE_DIR", "is a file, not a folder")


@pytest.mark.parametrize("where", ["unwritable", "below_a_file"])
def test_search_run_folder_that_cannot_be_created(tmp_path, unwritable, a_file, where):
    run_dir = unwritable if where == "unwritable" else a_file / "run"
    result = hwnas("search", "device=pixel3", "max_evals=5", "progress=false", f"hydra.run.dir={run_dir}")
    _one_line_error(result, "hydra.run.dir")
    sweep = hwnas("search", "-m", "device=pixel3", "seed=0,1", "max_evals=5", "progress=false",
                  f"hydra.sweep.dir={run_dir}")
    _one_line_error(sweep, "hydra.sweep.dir")


@pytest.mark.parametrize("where", ["unwritable", "below_a_file"])
def test_output_folders_of_predict_report_monotonicity(tmp_path, unwritable, a_file, where):
    out = unwritable if where == "unwritable" else a_file / "out"
    _one_line_error(hwnas("predict", "device=pixel3", f"out={out / 'p.csv'}", f"hydra.run.dir={tmp_path / 'p'}"),
                    "out=")
    _one_line_error(hwnas("monotonicity", "tables=[nb201_oneproxy]", f"out_dir={out}",
                          f"hydra.run.dir={tmp_path / 'm'}"), "out_dir=")
    run = tmp_path / "run"
    assert hwnas("search", "device=pixel3", "max_evals=5", "progress=false", f"hydra.run.dir={run}").returncode == 0
    _one_line_error(hwnas("report", str(run), "--out", str(out)), "report folder")


def test_predict_into_a_folder_name(tmp_path):
    _one_line_error(hwnas("predict", "device=pixel3", f"out={tmp_path}", f"hydra.run.dir={tmp_path / 'p'}"),
                    "is a folder")


@pytest.mark.parametrize("content", [os.urandom(4096), b"index,arch\n\xff\xfe\xfd\n"], ids=["random", "not-utf8"])
def test_a_damaged_local_device_refuses_only_itself(tmp_path, content):
    store = tmp_path / "store"
    (store / "nasbench201").mkdir(parents=True)
    (store / "nasbench201" / "local-broken.csv").write_bytes(content)
    env = {"HWNAS_DEVICE_STORE": str(store)}
    fine = hwnas("search", "device=pixel3", "max_evals=5", "progress=false", f"hydra.run.dir={tmp_path / 'a'}",
                 env=env)
    assert fine.returncode == 0, fine.stderr
    assert "local-broken" in fine.stderr and "Traceback" not in fine.stderr  # a warning names it
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["device"] == "pixel3"
    refused = hwnas("search", "device=local-broken", "max_evals=5", "progress=false",
                    f"hydra.run.dir={tmp_path / 'b'}", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "error: corrupt device store file" in refused.stderr and "local-broken.csv" in refused.stderr


def test_a_journal_record_without_a_key_stops_resume_in_one_line(tmp_path):
    args = ("search", "device=pixel3", "max_evals=10", "seed=1", "progress=false", f"hydra.run.dir={tmp_path}")
    assert hwnas(*args).returncode == 0
    journal = tmp_path / "trials.jsonl"
    lines = journal.read_text().splitlines()
    record = json.loads(lines[3])
    del record["arch"]
    journal.write_text("\n".join([*lines[:3], json.dumps(record), *lines[4:]]) + "\n")
    _one_line_error(hwnas(*args, "resume=true"), "record 4 lacks arch", str(journal))
