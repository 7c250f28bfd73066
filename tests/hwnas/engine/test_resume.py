"""`hwnas search ... resume=true`: a run killed with SIGKILL continues to the same result as an
uninterrupted one; a changed config or a reused folder is refused with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from omegaconf import OmegaConf

from hwnas.data import devices
from hwnas.config import conf_dir, instantiate
from hwnas.core.errors import HwnasError
from hwnas.engine.ledger import CostLedger
from hwnas.engine.resume import differing_keys, prepare
from hwnas.engine.loop import run_search
from hwnas.predictors.lut import LookupTable
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy
from hwnas.search_spaces.nasbench201 import NasBench201

ARGS = ("search", "strategy=evolution", "device=pixel3", "budget_ms=6.5", "seed=0", "max_evals=2000",
        "progress=false")


def hwnas(*args: str, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "hwnas.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ), **kwargs)


def lines(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_minus_9_then_resume_gives_the_uninterrupted_result(tmp_path):
    run_dir = tmp_path / "run"
    process = hwnas(*ARGS, f"hydra.run.dir={run_dir}")
    journal = run_dir / "trials.jsonl"
    deadline = time.time() + 90
    while lines(journal) < 300 and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.kill()  # SIGKILL: no handler, no flush, no cleanup
    process.wait()
    assert process.returncode == -9, "the search finished before it could be killed"
    killed_at = lines(journal)
    assert 300 <= killed_at < 2000 and not (run_dir / "summary.json").exists()

    resumed = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS, "resume=true", f"hydra.run.dir={run_dir}"],
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed"]["trials"] >= 300 and summary["resumed"]["mode"] == "replayed"

    space = NasBench201()
    node = OmegaConf.load(conf_dir() / "strategy" / "evolution.yaml")
    reference = run_search(space, instantiate(node, "strategy", space=space, budget_ms=6.5, seed=0),
                           LookupTable(space, "pixel3"), NasBench201Accuracy(space), 6.5, 2000, CostLedger(),
                           true_latency_ms=devices.latency_ms("nasbench201", "pixel3"), screen=True)
    records = pd.read_parquet(run_dir / "trials.parquet")
    assert list(records["arch"]) == [r["arch"] for r in reference.records]
    assert list(records["trial"]) == list(range(len(reference.records)))  # none lost, none repeated
    assert (records["new"] & ~records["screened"]).sum() == 2000 == summary["cost"]["evaluations"]
    assert (records["new"] & records["screened"]).sum() == summary["cost"]["screened"] > 0
    assert summary["best"]["arch"] == reference.best["arch"]


def test_resume_with_a_different_config_is_refused_naming_the_keys(tmp_path):
    prepare(tmp_path, {"budget_ms": 6.5, "strategy": {"_target_": "a", "population_size": 50}, "progress": True},
            resume=False)
    with pytest.raises(HwnasError, match=r"differs .* in budget_ms, strategy.population_size \(budget_ms: 6.5 -> 7.0"):
        prepare(tmp_path, {"budget_ms": 7.0, "strategy": {"_target_": "a", "population_size": 20},
                           "progress": False}, resume=True)
    assert prepare(tmp_path, {"budget_ms": 6.5, "strategy": {"_target_": "a", "population_size": 50},
                              "progress": False, "resume": True}, resume=True) == []


def test_a_fresh_run_refuses_a_folder_that_holds_one(tmp_path):
    prepare(tmp_path, {"a": 1}, resume=False)
    with pytest.raises(HwnasError, match="already holds a search; pass resume=true"):
        prepare(tmp_path, {"a": 1}, resume=False)


def test_differing_keys_sees_added_and_removed_keys():
    assert differing_keys({"a": {"b": 1}, "c": 2}, {"a": {"b": 1, "d": 3}}) == ["a.d", "c"]
    assert differing_keys({"resume": False, "x": 1}, {"resume": True, "x": 1}) == []


def test_cli_refuses_a_changed_config_on_resume(tmp_path):
    run_dir = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS[:-2], "max_evals=20", "progress=false",
                            f"hydra.run.dir={run_dir}"], capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS[:-2], "max_evals=20", "progress=false",
                            "budget_ms=7", "resume=true", f"hydra.run.dir={run_dir}"],
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 2
    assert "config differs from the interrupted run in budget_ms" in again.stderr
    assert "Traceback" not in again.stderr


def test_journal_records_missing_a_key_are_refused_on_resume(tmp_path, nb201):
    from hwnas.engine.journal import Journal
    from hwnas.engine.resume import RECORD_KEYS, check_records

    strategy = instantiate(OmegaConf.load(conf_dir() / "strategy" / "random.yaml"), "strategy", space=nb201,
                           budget_ms=6.5, seed=0)
    fresh = run_search(nb201, strategy, LookupTable(nb201, "pixel3"), NasBench201Accuracy(nb201), 6.5, 5,
                       CostLedger()).records
    assert all(set(RECORD_KEYS) <= set(r) for r in fresh)  # the keys the loop writes, checked on resume
    prepare(tmp_path, {"a": 1}, resume=False)
    broken = [dict(r) for r in fresh]
    del broken[2]["latency_ms"]
    Journal(tmp_path / "trials.jsonl").append(broken)
    with pytest.raises(HwnasError, match=r"trials.jsonl: record 3 lacks latency_ms"):
        prepare(tmp_path, {"a": 1}, resume=True)
    with pytest.raises(HwnasError, match="record 1 has a trial '0' or arch"):
        check_records([{**fresh[0], "trial": "0"}], tmp_path / "trials.jsonl")
    assert check_records(fresh, tmp_path / "trials.jsonl") == fresh


def test_a_run_from_before_an_option_existed_resumes_while_the_option_is_at_its_default(tmp_path):
    import json

    run_dir = tmp_path / "run"
    first = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS[:-2], "max_evals=20", "progress=false",
                            f"hydra.run.dir={run_dir}"], capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    snapshot = run_dir / "run_config.json"
    old = json.loads(snapshot.read_text())
    for key in ("threads", "refine", "refine_every", "refine_batch", "refine_max_measurements"):
        old.pop(key)  # as written by an hwnas without these options
    snapshot.write_text(json.dumps(old))
    set_later = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS[:-2], "max_evals=20", "progress=false",
                                "threads=2", "resume=true", f"hydra.run.dir={run_dir}"],
                               capture_output=True, text=True, timeout=180)
    assert set_later.returncode == 2 and "config differs from the interrupted run in threads" in set_later.stderr
    again = subprocess.run([sys.executable, "-m", "hwnas.cli", *ARGS[:-2], "max_evals=20", "progress=false",
                            "resume=true", f"hydra.run.dir={run_dir}"], capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
