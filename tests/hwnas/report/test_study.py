"""`hwnas report --study`: a study shared by several workers, summarised from hwnas's trial attributes."""

from __future__ import annotations

import optuna
import pytest

from hwnas.cli import main
from hwnas.core.errors import HwnasError
from hwnas.core.records import STUDY_RESULT_ATTR, STUDY_WORKER_ATTR
from hwnas.report.study import load_study_trials, summarize_study


def _study(storage: str, name: str = "hwnas") -> None:
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    rows = [("w1", "a", 70.0, 5.0, True), ("w1", "b", 90.0, 9.0, False), ("w2", "a", 70.0, 5.0, True),
            ("w2", "c", 72.0, 6.0, True), ("w2", "d", None, 12.0, False)]
    for worker, arch, accuracy, latency_ms, feasible in rows:
        trial = study.ask()
        trial.set_user_attr(STUDY_WORKER_ATTR, worker)
        trial.set_user_attr(STUDY_RESULT_ATTR, {"arch": arch, "latency_ms": latency_ms, "feasible": feasible,
                                                "violation_ms": 0.0 if feasible else 1.0, "accuracy": accuracy})
        if accuracy is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, accuracy)


def test_counts_duplicates_and_the_best_feasible_pick(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    _study(storage)
    name, rows = load_study_trials(storage)
    summary = summarize_study(rows)
    assert name == "hwnas" and summary["trials"] == 5
    assert summary["workers"] == {"w1": {"trials": 2, "evaluated": 2, "feasible": 1},
                                  "w2": {"trials": 3, "evaluated": 2, "feasible": 2}}
    assert summary["duplicates"] == {"a": ["w1", "w2"]} and summary["distinct_evaluated"] == 3
    assert summary["best"]["arch"] == "c"  # b is more accurate but over budget


def test_the_command_prints_and_writes(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    _study(storage)
    main(["report", "--study", storage, "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "| w2 | 3 | 2 | 2 |" in out and "best feasible pick over all workers: c" in out
    assert (tmp_path / "out" / "study.json").is_file()


def test_bad_storage_or_name_is_one_line(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    _study(storage)
    _study(storage, "other")
    with pytest.raises(HwnasError, match="holds 2 studies .*--study-name"):
        load_study_trials(storage)
    with pytest.raises(HwnasError, match="no study 'nope'"):
        load_study_trials(storage, "nope")
