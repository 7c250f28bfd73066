"""The `hwnas` command line: an end-to-end search and one-line errors for bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from cli_runner import hwnas
from hwnas.evaluators.nb201_accuracy import nb201_accuracy
from hwnas.search_spaces import _help_data


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    result = hwnas("search", "space=nasbench201", "strategy=evolution", "oracle=lut", "device=pixel3",
                   "budget_ms=6.5", "max_evals=120", "seed=0", "progress=false", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr
    return run_dir, result.stdout


def test_search_writes_config_records_and_summary(search_run):
    run_dir, stdout = search_run
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    records = pd.read_parquet(run_dir / "trials.parquet")
    assert len(records) == summary["cost"]["trials"] >= 120
    evaluated = records["new"] & ~records["screened"]
    assert evaluated.sum() == summary["cost"]["evaluations"] == 120
    # screening (on by default): over-budget proposals are told, journaled, never evaluated for accuracy
    screened = records[records["new"] & records["screened"]]
    assert len(screened) == summary["cost"]["screened"] > 0
    assert screened["accuracy"].isna().all() and (screened["latency_ms"] > 6.5).all()
    assert (records.loc[evaluated, "latency_ms"] <= 6.5).all()
    assert summary["cost"]["accuracy_queries"] == 120
    assert len((run_dir / "trials.jsonl").read_text().splitlines()) == len(records)
    assert "regret" in stdout and summary["best"]["arch"] in stdout
    flat = re.sub(r"[\s│]+", " ", stdout)  # the table may wrap a row inside its box
    assert f"{summary['cost']['screened']} more screened over budget" in flat


def test_best_agrees_with_the_tables(search_run):
    run_dir, _ = search_run
    summary = json.loads((run_dir / "summary.json").read_text())
    best = summary["best"]
    index = _help_data.nb201_arch_strings().index(best["arch"])
    assert best["table_index"] == index
    assert best["accuracy"] == pytest.approx(nb201_accuracy("cifar10")[index])
    assert best["latency_ms"] == pytest.approx(_help_data.nb201_help_latency()["pixel3"].iloc[index])
    assert best["feasible"] and best["latency_ms"] <= 6.5


def test_ground_truth_is_the_constrained_optimum(search_run):
    run_dir, _ = search_run
    summary = json.loads((run_dir / "summary.json").read_text())
    latency = _help_data.nb201_help_latency()["pixel3"].to_numpy()
    accuracy = nb201_accuracy("cifar10")
    optimum = accuracy[latency <= 6.5].max()
    truth = summary["ground_truth"]
    assert truth["optimum_accuracy"] == pytest.approx(optimum)
    assert truth["regret"] == pytest.approx(optimum - summary["best"]["accuracy"])
    assert truth["regret"] >= 0


def test_same_seed_same_result(search_run, tmp_path):
    run_dir, _ = search_run
    again = hwnas("search", "device=pixel3", "budget_ms=6.5", "max_evals=120", "seed=0", "progress=false",
                  f"hydra.run.dir={tmp_path}")
    assert again.returncode == 0, again.stderr
    first = pd.read_parquet(run_dir / "trials.parquet")["arch"]
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "trials.parquet")["arch"], first)


@pytest.mark.parametrize("args, message", [
    (("search", "strategy=evolutoin"), "unknown strategy 'evolutoin'. Did you mean: evolution"),
    (("search", "oracle=lutt"), "unknown oracle 'lutt'. Did you mean: lut"),
    (("search", "space=nasbench_201"), "unknown space 'nasbench_201'. Did you mean: nasbench201"),
    (("search", "device=pixle3"), "unknown device for space nasbench201 'pixle3'. Did you mean: pixel3"),
    (("search", "device=raspi4", "budget_ms=0.005"), "budget_ms=0.005 is infeasible on raspi4"),
    (("serach",), "unknown command 'serach'. Did you mean: search"),
    (("search", "device=rice_pixel3"), "add restrict_to_table=true"),
])
def test_bad_input_is_one_line_without_traceback(tmp_path, args, message):
    result = hwnas(*args, "progress=false", f"hydra.run.dir={tmp_path}") if args[0] == "search" else hwnas(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_data_folder_is_explained(tmp_path):
    result = hwnas("search", "progress=false", f"hydra.run.dir={tmp_path}", env={"HWNAS_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "HWNAS_DATA_DIR" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_commands():
    result = hwnas("--help")
    assert result.returncode == 0 and "search" in result.stdout and "predict" in result.stdout


def test_predict_writes_the_whole_space(tmp_path):
    out = tmp_path / "pred.csv"
    result = hwnas("predict", "device=fpga", f"out={out}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[:3]) == ["index", "arch", "predicted_ms"] and len(frame) == 15_625
    np.testing.assert_allclose(frame["predicted_ms"], _help_data.nb201_help_latency()["fpga"].to_numpy())
