"""A device whose table covers part of the searched space: no true optimum, never a negative regret; an
imported device answers target measurements, off-table architectures included, from its own rows."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.core.errors import HwnasError
from hwnas.data import devices
from hwnas.data.importer import import_table
from hwnas.engine.ledger import CostLedger
from hwnas.engine.session import Session
from hwnas.engine.target import TableTarget

SEARCH = ["budget_ms=20", "max_evals=60", "seed=0", "progress=false"]


def _import_rows(space, rows, source: str, device: str, tmp_path) -> None:
    latency = devices.latency_ms(space.name, source)
    lines = ["index,latency_ms"] + [f"{r},{float(latency[r])!r}" for r in rows]
    (tmp_path / "rows.csv").write_text("\n".join(lines) + "\n")
    import_table(space, device, tmp_path / "rows.csv")


def _check_partial(truth: dict, n_tabled: int) -> None:
    assert truth["partial"] is True and truth["optimum_accuracy"] is None and truth["regret"] is None
    assert (truth["n_tabled"], truth["n_searched"]) == (n_tabled, 15_625)
    assert "no true optimum" in truth["note"]


def test_oneproxy_on_a_1999_row_device_reports_no_optimum_or_regret():
    summary = Session.compose("search", ["oracle=oneproxy", "device=rice_eyeriss", *SEARCH]).search()
    _check_partial(summary["ground_truth"], 1_999)
    covered = summary["ground_truth"]["best_measured_row"]
    latency = devices.latency_ms("nasbench201", "rice_eyeriss")
    assert covered["latency_ms"] == latency[covered["table_index"]] <= 20


def test_an_imported_partial_device_searches_with_adapting_oracles(nb201, tmp_path):
    rows = sorted(set(np.random.default_rng(0).choice(15_625, 300, replace=False).tolist()))
    _import_rows(nb201, rows, "pixel2", "local-part", tmp_path)
    for oracle in ("oneproxy", "brpnas"):
        session = Session.compose("search", [f"oracle={oracle}", "device=local-part", *SEARCH])
        summary = session.search()
        _check_partial(summary["ground_truth"], 300)
        assert session.ledger.target_measurements["adapt"] == 10
    lut = Session.compose("search", ["oracle=lut", "device=local-part", "restrict_to_table=true", *SEARCH]).search()
    assert lut["ground_truth"]["regret"] >= 0 and lut["ground_truth"]["n_tabled"] == 300
    assert "partial" not in lut["ground_truth"]  # the searched space is the 300 rows: the optimum is exact


def test_a_whole_table_keeps_its_optimum_and_regret():
    truth = Session.compose("search", ["oracle=lut", "device=pixel3", *SEARCH]).search()["ground_truth"]
    assert "partial" not in truth and truth["n_tabled"] == 15_625 and truth["regret"] >= 0


def test_the_target_answers_off_table_archs_from_the_imported_rows(tmp_path):
    fbnet = devices.search_space("fbnet")
    rng = np.random.default_rng(3)
    outside = next(tuple(int(v) for v in a) for a in fbnet.sample(rng, 50) if fbnet.table_index([a])[0] < 0)
    inside = tuple(int(v) for v in fbnet.table_archs()[9])
    (tmp_path / "t.csv").write_text(f"arch,latency_ms\n\"{fbnet.to_string(outside)}\",42.5\n"
                                    f"\"{fbnet.to_string(inside)}\",7\n")
    import_table(fbnet, "local-fb", tmp_path / "t.csv")
    target, ledger = TableTarget(fbnet, "local-fb"), CostLedger()
    np.testing.assert_array_equal(target.measure([outside, inside], ledger, "verify"), [42.5, 7.0])
    assert ledger.target_measurements["verify"] == 2
    other = next(tuple(int(v) for v in a) for a in fbnet.sample(rng, 50)
                 if fbnet.table_index([a])[0] < 0 and a != outside)
    with pytest.raises(HwnasError, match="device local-fb has no measurement of"):
        target.measure([other], ledger, "verify")


def test_measured_on_a_shipped_device_says_use_lut():
    with pytest.raises(HwnasError, match="shipped table device.*use oracle=lut") as caught:
        Session.compose("search", ["oracle=measured", "device=pixel3", "budget_ms=6.5"]).oracle
    assert "\n" not in str(caught.value)


def test_restrict_to_table_keeps_a_predictor_on_the_device_rows(nb201, tmp_path):
    """With a predictor (no table of its own), restrict_to_table=true searches the device's measured rows."""
    rows = sorted(set(np.random.default_rng(1).choice(15_625, 300, replace=False).tolist()))
    _import_rows(nb201, rows, "pixel2", "local-rows", tmp_path)
    summary = Session.compose("search", ["oracle=oneproxy", "device=local-rows", "restrict_to_table=true",
                                         *SEARCH]).search()
    assert "partial" not in summary["ground_truth"] and summary["ground_truth"]["n_tabled"] == 300
    assert {r["table_index"] for r in summary["records"]} <= set(rows)


def test_refine_on_fbnet_measures_only_tabled_archs():
    """FBNet's 5,000 tabled rows of a 9^22 space: refine's measurements and the pick stay in the table."""
    session = Session.compose("search", ["space=fbnet", "oracle=oneproxy", "device=raspi4", "restrict_to_table=true",
                                         "refine=true", "refine_every=20", "budget_quantile=0.5", "max_evals=60",
                                         "seed=0", "progress=false"])
    summary = session.search()
    assert session.ledger.target_measurements["refine"] > 0 and summary["refine"]["verified"]
    assert all(r["table_index"] >= 0 for r in summary["records"])
    assert summary["ground_truth"]["regret"] >= 0
