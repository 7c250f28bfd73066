"""The offline measurement job: export an oracle's references (or a run's candidates) with a manifest, fill it
with the device's measurements, import it, and search on the device adapted from exactly those rows."""

from __future__ import annotations

import csv
import json

import pytest
from cli_runner import hwnas

from hwnas.data import devices
from hwnas.engine.journal import Journal
from hwnas.engine.verify import rank_candidates
from hwnas.search_spaces.nasbench201 import NasBench201


def read_manifest(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_references_round_trip_through_import_and_search(tmp_path):
    job = tmp_path / "job"
    result = hwnas("export", "what=references", "oracle=oneproxy", "device=eyeriss", "seed=3", f"out={job}")
    assert result.returncode == 0, result.stderr
    rows = read_manifest(job / "manifest.csv")
    assert len(rows) == 10 and all(r["latency_ms"] == "" and (job / r["file"]).is_file() for r in rows)
    # the user's benchmark tool fills the manifest: here, the eyeriss table stands in for the device
    space, table = NasBench201(), devices.latency_ms("nasbench201", "eyeriss")
    for r in rows:
        r["latency_ms"] = repr(float(table[int(space.table_index([space.from_string(r["arch"])])[0])]))
    with open(job / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["arch", "file", "latency_ms"])
        writer.writeheader()
        writer.writerows(rows)
    store = {"HWNAS_DEVICE_STORE": str(tmp_path / "store")}
    result = hwnas("import", "space=nasbench201", "device=local-eyeriss-job", f"file={job / 'manifest.csv'}", env=store)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    result = hwnas("search", "oracle=oneproxy", "device=local-eyeriss-job", "budget_ms=5", "max_evals=30",
                   "progress=false", f"hydra.run.dir={run}", env=store)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["cost"]["target_measurements"]["adapt"] == 10
    assert summary["best"]["predicted_latency_ms"] <= 5


def test_candidates_are_exported_in_verify_order(tmp_path):
    run = tmp_path / "run"
    assert hwnas("search", "max_evals=40", "progress=false", f"hydra.run.dir={run}").returncode == 0
    job = tmp_path / "job"
    result = hwnas("export", "what=candidates", f"run={run}", "count=3", f"out={job}")
    assert result.returncode == 0, result.stderr
    expected = [c.arch for c in rank_candidates(Journal(run / "trials.jsonl").read())[:3]]
    assert [r["arch"] for r in read_manifest(job / "manifest.csv")] == expected


@pytest.mark.parametrize("args, message", [
    (["what=references", "device=eyeriss"], "what=references needs oracle=<name>"),
    (["what=references", "oracle=lutt", "device=eyeriss"], "unknown oracle 'lutt'"),
    (["what=references", "oracle=lut", "device=eyeriss"], "takes no target measurements"),
    (["what=candidates"], "what=candidates needs run="),
])
def test_bad_job_requests_are_one_line(tmp_path, args, message):
    result = hwnas("export", *args, f"out={tmp_path / 'job'}")
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
