"""The append-only journal: complete records survive a kill mid-write; broken lines are skipped."""

from __future__ import annotations

import json

import pytest

from hwnas.engine.journal import Journal


def test_round_trip_in_order(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append([{"trial": 0}, {"trial": 1}])
    journal.append([{"trial": 2}])
    journal.close()
    assert [r["trial"] for r in Journal(tmp_path / "j.jsonl").read()] == [0, 1, 2]


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"trial": 0}) + "\n" + json.dumps({"trial": 1}) + "\n" + '{"trial": 2, "acc')
    with pytest.warns(UserWarning, match=r"j.jsonl:3: skipped a corrupt or truncated"):
        records = Journal(path).read()
    assert [r["trial"] for r in records] == [0, 1]


def test_corrupt_middle_line_keeps_the_records_around_it(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"trial": 0}\n\x00\x00garbage\n{"trial": 2}\n[1, 2]\n')
    with pytest.warns(UserWarning):
        assert [r["trial"] for r in Journal(path).read()] == [0, 2]


def test_append_after_a_cut_write_does_not_glue_onto_the_broken_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"trial": 0}\n{"trial": 1, "arch": "|no')
    journal = Journal(path)
    with pytest.warns(UserWarning, match="cut off a truncated last line"):
        journal.append([{"trial": 1}])
    journal.close()
    assert path.read_text() == '{"trial": 0}\n{"trial":1}\n'
    assert [r["trial"] for r in Journal(path).read()] == [0, 1]


def test_missing_journal_reads_empty(tmp_path):
    assert Journal(tmp_path / "none.jsonl").read() == []
