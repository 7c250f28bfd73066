"""`hwnas report` over a small real sweep: tables, plots, and bad input (no runs, half-written, mixed spaces)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from cli_runner import hwnas
from hwnas.cli.commands.report import main as report
from hwnas.core.errors import HwnasError
from hwnas.report.runs import pareto_points


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    result = hwnas("search", "-m", "oracle=lut,brpnas", "strategy=evolution,random", "device=raspi4",
                   "budget_ms=25", "seed=0", "max_evals=40", "progress=false", f"hydra.sweep.dir={folder}")
    assert result.returncode == 0, result.stderr
    return folder


def test_report_tables_and_plots(sweep, tmp_path):
    out = tmp_path / "report"
    result = hwnas("report", str(sweep), "--out", str(out))  # once through the real command line
    assert result.returncode == 0, result.stderr
    assert "e+0" not in result.stdout and "15,625" in result.stdout
    assert "random search" in result.stderr  # evolution's population (100) >= max_evals (40), a warning
    table = pd.read_csv(out / "report.csv")
    assert len(table) == 4 and set(table["oracle"]) == {"lut", "brpnas"}
    for row in table.itertuples():
        summary = json.loads((sweep / row.run.split("/")[-1] / "summary.json").read_text())
        regret = summary["ground_truth"]["regret"]  # None: the pick is over budget on the table
        assert pd.isna(row.regret) if regret is None else row.regret == pytest.approx(regret)
        assert row.target_measurements == summary["cost"]["target_measurements_total"]
    assert table.loc[table.oracle == "lut", "target_measurements"].min() == 15_625
    assert table.loc[table.oracle == "brpnas", "measurements_adapt"].eq(10).all()
    markdown = (out / "report.md").read_text()
    assert "| nasbench201 | brpnas | evolution |" in markdown and "e+0" not in markdown
    assert "runs over budget" in markdown and "regret of feasible picks" in markdown
    assert "## Regret against target measurements" in markdown and "| nasbench201 | lut | evolution | 1 | 15,625" in markdown
    for name in ("accuracy_vs_cost", "anytime_regret", "violation_rate", "cost_by_phase", "pareto_fronts",
                 "regret_vs_measurements"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![pareto_fronts.png](pareto_fronts.png)" in markdown and table["has_pareto"].all()


def test_pareto_points_of_search_summaries_and_of_plain_lists():
    front = [{"arch": "a", "accuracy": 70.0, "latency_ms": 3.0}, {"arch": "b", "accuracy": 72.0, "latency_ms": 5.0}]
    search = {"pareto": {"front": front, "best_per_budget": [{"budget_ms": 4, "arch": "a"}]}}
    assert pareto_points(search) == front  # what `hwnas search` writes
    assert pareto_points({"pareto_front": front}) == front
    assert pareto_points({"pareto": {"front": []}}) == [] and pareto_points({"pareto": None}) == []


def test_default_output_is_under_the_first_folder(sweep, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy)
    report([str(copy)])
    assert (copy / "report" / "report.csv").is_file()
    report([str(copy)])  # the report folder itself is not read as a run
    assert len(pd.read_csv(copy / "report" / "report.csv")) == 4


def test_half_written_and_mixed_space_runs_are_named_and_good_runs_kept(sweep, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    shutil.copytree(sweep, mixed)
    (mixed / "0" / "summary.json").unlink()                       # half-written: trials but no summary
    summary = json.loads((mixed / "1" / "summary.json").read_text())
    summary["space"] = "fbnet"
    (mixed / "1" / "summary.json").write_text(json.dumps(summary))
    (mixed / "2" / "summary.json").write_text("{ truncated")      # corrupt
    report([str(mixed)])
    stderr = capsys.readouterr().err
    assert "half-written run" in stderr and "several spaces" in stderr and "unreadable run" in stderr
    table = pd.read_csv(mixed / "report" / "report.csv")
    assert len(table) == 2 and set(table["space"]) == {"nasbench201", "fbnet"}


def test_no_runs_is_one_line(tmp_path):
    result = hwnas("report", str(tmp_path))
    assert result.returncode == 2 and "no complete runs found" in result.stderr
    assert result.stderr.startswith("hwnas report: error:") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("make, message", [("missing", "not a folder"), ("file", "not a folder"),
                                           ("only_config", "half-written run")])
def test_nothing_to_report_is_explained(tmp_path, make, message):
    target = tmp_path / "target"
    if make == "file":
        target.write_text("x")
    elif make == "only_config":
        (target / "0" / ".hydra").mkdir(parents=True)
        (target / "0" / ".hydra" / "config.yaml").write_text("seed: 0\n")
    with pytest.raises(HwnasError, match=message):
        report([str(target)])


def test_evolution_that_is_random_search_says_so(sweep, capsys):
    from hwnas.cli.commands.search import _print_summary

    for run in sweep.iterdir():
        if not (run / "summary.json").is_file():
            continue
        summary = json.loads((run / "summary.json").read_text())
        notes = summary.get("notes", [])   # present only when a strategy has something to say
        if summary["strategy"] == "evolution":
            assert len(notes) == 1 and "population_size (100) >= max_evals (40)" in notes[0]
            assert "random search" in notes[0]
            summary["cost"]["command_seconds"] = 1.0
            _print_summary(summary, run)
            assert "this run is random search" in " ".join(capsys.readouterr().out.replace("│", " ").split())
        else:
            assert notes == []


def test_evolution_note_only_when_the_population_covers_the_budget():
    from hwnas.strategies.evolution import RegularizedEvolution

    evolution = RegularizedEvolution(None, budget_ms=10, population_size=50, tournament_size=10)
    assert evolution.note(51) is None
    assert "random search" in evolution.note(50)
