"""Pareto fronts and best-per-budget answers, against brute force; `objective=pareto` from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from hwnas.engine.pareto import best_per_budget, pareto_front


def test_front_is_exactly_the_non_dominated_set():
    rng = np.random.default_rng(0)
    accuracy, latency = rng.integers(0, 30, 300).astype(float), rng.integers(0, 30, 300).astype(float)
    front = set(pareto_front(accuracy, latency).tolist())
    for i in range(300):
        dominated = np.any((accuracy >= accuracy[i]) & (latency <= latency[i])
                           & ((accuracy > accuracy[i]) | (latency < latency[i])))
        duplicate_before = np.any((accuracy[:i] == accuracy[i]) & (latency[:i] == latency[i]))
        assert (i in front) == (not dominated and not duplicate_before)


def test_best_per_budget_matches_brute_force():
    rng = np.random.default_rng(1)
    accuracy, latency = rng.random(200) * 100, rng.random(200) * 10
    budgets = [-1.0, 0.5, 2.0, 5.0, 9.99, 20.0]
    picks = best_per_budget(accuracy, latency, budgets)
    assert picks[0] == -1
    for budget, pick in zip(budgets[1:], picks[1:]):
        assert accuracy[pick] == accuracy[latency <= budget].max() and latency[pick] <= budget


def test_cli_pareto_prints_the_front_and_every_budget(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "search", "strategy=nsga2", "objective=pareto",
                             "budgets_ms=[4,6.5,9]", "max_evals=60", "progress=false", f"hydra.run.dir={tmp_path}"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    front = summary["pareto"]["front"]
    assert front and np.all(np.diff([p["latency_ms"] for p in front]) > 0)
    assert np.all(np.diff([p["accuracy"] for p in front]) > 0)
    assert [b["budget_ms"] for b in summary["pareto"]["best_per_budget"]] == [4.0, 6.5, 9.0]
    assert "Pareto front" in result.stdout and "best architecture per budget" in result.stdout
    assert not (tmp_path / "optuna.db").exists()  # the study is in memory by default


def test_cli_pareto_with_a_single_objective_strategy_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "search", "strategy=evolution", "objective=pareto",
                             "progress=false", f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 2
    assert "objective=pareto needs one of: gp, nsga2, random, tpe" in result.stderr
