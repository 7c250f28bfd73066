"""Issue 17: the report's plots and table do not mislead (read back from the figures and report.md)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from hwnas.report import plots
from hwnas.report.runs import PHASES, Runs
from hwnas.report.tables import write_tables

ORACLES, STRATEGIES, DEVICES = ("lut", "brpnas"), ("evolution", "random"), ("raspi4", "pixel2")


def _runs() -> Runs:
    """Two oracles x two strategies x two devices x three seeds; one brpnas pick per group over budget."""
    rows, trials, rng = [], {}, np.random.default_rng(0)
    for oracle in ORACLES:
        for strategy in STRATEGIES:
            for device in DEVICES:
                for seed in range(3):
                    over = oracle == "brpnas" and seed == 0
                    run = f"{oracle}/{strategy}/{device}/{seed}"
                    row = {"run": run, "space": "nasbench201", "device": device, "oracle": oracle,
                           "strategy": strategy, "budget_ms": 20.0, "seed": seed, "evaluations": 40,
                           "found_accuracy": np.nan if over else 90.0 - seed, "optimum_accuracy": 91.0,
                           "best_accuracy_any": 95.0 if over else 90.0 - seed, "violated": over,
                           "regret": np.nan if over else 1.0 + seed, "false_feasible_rate": 0.1 * over,
                           "target_measurements": 15_625 if oracle == "lut" else 10,
                           "measurement_seconds": 3000.0 if oracle == "lut" else 2.0,
                           "wall_seconds": 12.5, "shared_setup_seconds": 0.0}
                    for phase in PHASES:
                        row[f"measurements_{phase}"] = {"setup": 15_625 if oracle == "lut" else 0,
                                                        "adapt": 0 if oracle == "lut" else 10}.get(phase, 0)
                        row[f"wall_{phase}_s"] = {"setup": 0.5, "adapt": 2.0, "search": 9.0, "verify": 1.0}.get(phase, 0.0)
                    rows.append(row)
                    accuracy = rng.uniform(60, 90, 40)
                    trials[run] = pd.DataFrame({"evaluations": np.arange(1, 41), "accuracy": accuracy,
                                                "true_feasible": rng.random(40) < 0.7, "feasible": True})
    return Runs(pd.DataFrame(rows), trials)


@pytest.fixture(scope="module")
def runs():
    return _runs()


def test_accuracy_vs_cost_plots_feasible_picks_and_marks_violations(runs):
    fig = plots.accuracy_vs_cost(runs.table)
    ax = fig.axes[0]
    over = [c for c in ax.collections if c.get_label() == "pick over budget (infeasible)"]
    assert len(over) == 1
    assert len(over[0].get_offsets()) == int(runs.table["violated"].sum()) == 4
    assert (over[0].get_facecolors().size == 0 or over[0].get_facecolors()[:, 3].max() == 0)  # hollow
    assert np.allclose(over[0].get_edgecolors()[0][:3], matplotlib.colors.to_rgb("red"))
    feasible = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if c not in over])
    assert feasible.max() <= runs.table["optimum_accuracy"].max()  # the 95 % violating picks are not among them
    assert "pick over budget (infeasible)" in [t.get_text() for t in ax.get_legend().get_texts()]
    matplotlib.pyplot.close(fig)


def test_anytime_regret_lines_per_oracle_and_strategy_with_bands_and_readable_ticks(runs):
    fig = plots.regret_curves(runs, runs.table)
    panels = [ax for ax in fig.axes if ax.get_lines()]
    assert [ax.get_title() for ax in panels] == sorted(DEVICES)  # devices are not pooled
    fig.canvas.draw()
    for ax in panels:
        labels = {line.get_label() for line in ax.get_lines()}
        assert labels == {f"{o} / {s}" for o in ORACLES for s in STRATEGIES}
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 4  # one 25-75 % band per line
        assert ax.get_yscale() == "linear"
    ticks = [t.get_text() for t in panels[0].get_yticklabels() if t.get_text()]  # the panels share y
    assert len(ticks) >= 3 and all(len(t) <= 6 for t in ticks)
    matplotlib.pyplot.close(fig)


def test_cost_by_phase_is_linear_and_annotated(runs):
    fig = plots.cost_by_phase(runs.table)
    measurements = fig.axes[0]
    assert measurements.get_yscale() == "linear"
    texts = [t.get_text() for t in measurements.texts]
    assert "15,625" in texts and "10" in texts and "total 15,625" in texts
    assert any(t.get_text() == "9" for t in fig.axes[1].texts)  # the median search seconds
    matplotlib.pyplot.close(fig)


def test_report_markdown_prints_integers_and_runs_over_budget(runs, tmp_path):
    write_tables(runs, tmp_path, [])
    markdown = (tmp_path / "report.md").read_text()
    assert "e+0" not in markdown and "15,625" in markdown
    assert "regret of feasible picks (median)" in markdown and "runs over budget" in markdown
    assert "| nasbench201 | brpnas | evolution | 6 | 2 | 1 | 2.5 | 2 of 6 (33 %) |" in markdown
    assert "| nasbench201 | lut | random | 6 | 2 | 1 | 2 | 0 of 6 (0 %) |" in markdown
