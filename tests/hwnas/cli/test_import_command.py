"""`hwnas import`: the command line, its help, one-line errors, and the imported device in search and predict."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from cli_runner import hwnas

from hwnas.core.errors import HwnasError
from hwnas.data import devices

command = importlib.import_module("hwnas.cli.commands.import")


def test_import_is_a_listed_command_with_help():
    listing = hwnas("--help")
    assert listing.returncode == 0 and "  import " in listing.stdout
    helped = hwnas("import", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "usage: hwnas import key=value" in helped.stdout
    assert all(name in helped.stdout for name in ("space", "device", "file", "latency_ms"))


def test_import_then_search_and_predict(tmp_path):
    latency = devices.latency_ms("nasbench201", "pixel2")
    rows = sorted(set(np.random.default_rng(1).choice(15_625, 200, replace=False).tolist()))
    space = devices.search_space("nasbench201")
    archs = space.table_archs()
    csv = tmp_path / "mine.csv"
    csv.write_text("arch,latency_ms,runtime\n" + "".join(
        f"{space.to_string(tuple(archs[r]))},{float(latency[r])!r},tflite\n" for r in rows))
    env = {"HWNAS_DEVICE_STORE": str(tmp_path / "store")}
    done = hwnas("import", "device=local-mine", f"file={csv}", env=env)
    assert done.returncode == 0, done.stderr
    assert "imported 200 latencies into local-mine (nasbench201): 200 table rows" in done.stdout
    run = tmp_path / "run"
    search = hwnas("search", "device=local-mine", "oracle=oneproxy", "budget_ms=20", "max_evals=40",
                   "progress=false", f"hydra.run.dir={run}", env=env)
    assert search.returncode == 0, search.stderr
    truth = json.loads((run / "summary.json").read_text())["ground_truth"]
    assert truth["partial"] and truth["regret"] is None and "n/a: the device measured 200" in search.stdout
    predicted = hwnas("predict", "device=local-mine", "oracle=brpnas", f"out={tmp_path / 'p.csv'}",
                      f"hydra.run.dir={tmp_path / 'pr'}", env=env)
    assert predicted.returncode == 0, predicted.stderr
    assert "over 200 architectures" in predicted.stdout


def test_a_bad_row_is_one_line_on_stderr(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("index,latency_ms\n0,1\n3,-2\n")
    env = {"HWNAS_DEVICE_STORE": str(tmp_path / "store")}
    result = hwnas("import", "device=local-mine", f"file={csv}", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"hwnas import: error: {csv}:3: latency_ms '-2' must be a finite number > 0"
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("argv, message", [
    (["file=x.csv"], "give device="),
    (["device=local-a"], "give file="),
    (["device=local-a", "file=x.csv", "space=nb201"], "search space"),
    (["device=local-a", "file=x.csv", "colour=red"], "colour"),
])
def test_missing_or_unknown_arguments(argv, message):
    with pytest.raises(HwnasError, match=message):
        command.main(argv)


def test_measured_on_a_shipped_device_is_refused_on_the_command_line(tmp_path):
    result = hwnas("search", "oracle=measured", "device=pixel3", "budget_ms=6.5", "progress=false",
                   f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2 and "use oracle=lut" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
