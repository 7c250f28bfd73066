"""`hwnas search ... refine=true` end to end: the refine summary, the verified pick, the ledger's phases, the
report's regret against target measurements; a non-adapting oracle refused in one line."""

from __future__ import annotations

import json

import pandas as pd

from cli_runner import hwnas


def test_search_with_refine_and_its_report(tmp_path):
    sweep = tmp_path / "sweep"
    result = hwnas("search", "-m", "oracle=oneproxy", "refine=true,false", "device=pixel2", "budget_ms=14",
                   "max_evals=60", "refine_every=20", "refine_batch=4", "refine_max_measurements=30", "seed=0",
                   "progress=false", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    summaries = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/summary.json"))]
    refined = [s for s in summaries if s["config"]["refine"]]
    assert len(summaries) == 2 and len(refined) == 1
    summary = refined[0]
    measurements = summary["cost"]["target_measurements"]
    assert measurements["adapt"] == 10 and measurements["refine"] > 0
    assert summary["cost"]["target_measurements_total"] <= 30
    assert summary["refine"]["verified"] and summary["best"]["arch"] == summary["refine"]["pick"]
    assert summary["best"]["latency_ms"] == summary["refine"]["pick_measured_ms"] <= 14
    assert (sweep / "0" / "refine.jsonl").is_file() or (sweep / "1" / "refine.jsonl").is_file()
    out = tmp_path / "report"
    report = hwnas("report", str(sweep), "--out", str(out))
    assert report.returncode == 0, report.stderr
    table = pd.read_csv(out / "report.csv")
    assert set(table["method"]) == {"oneproxy", "oneproxy+refine"}
    assert table.loc[table.method == "oneproxy+refine", "measurements_refine"].gt(0).all()
    markdown = (out / "report.md").read_text()
    assert "| nasbench201 | oneproxy+refine | evolution | 1 |" in markdown
    assert (out / "regret_vs_measurements.png").is_file()


def test_refine_with_a_table_oracle_is_one_line():
    result = hwnas("search", "oracle=lut", "refine=true", "device=pixel2", "budget_ms=14", "progress=false")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not adapt" in lines[0] and "Traceback" not in result.stderr
