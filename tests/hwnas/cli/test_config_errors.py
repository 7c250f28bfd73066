"""Bad options on the command line: exit code 2 and one line naming the problem, before anything runs."""

from __future__ import annotations

import pytest
from cli_runner import hwnas


@pytest.mark.parametrize("args, message", [
    (("search", "max_eval=5"), "unknown search option 'max_eval'. Did you mean: max_evals"),
    (("search", "+max_eval=5"), "unknown search option 'max_eval'. Did you mean: max_evals"),
    (("search", "oracle=help", "oracle.episods=3"), "unknown option 'oracle.episods' for oracle=help. "
                                                    "Did you mean: oracle.episodes"),
    (("search", "max_evals=ten"), "max_evals must be an integer, got 'ten'"),
    (("search", "max_evals=0"), "max_evals must be >= 1, got 0"),
    (("search", "budget_ms=-1"), "budget_ms must be > 0"),
    (("search", "-m", "budget_ms=5,-1"), "budget_ms must be > 0"),
    (("search", "budget_ms=5,6"), "budget_ms=5,6 is a sweep: add -m"),
    (("calibrate", "meter.thread=2"), "Did you mean: meter.threads"),
    (("measure", "n=0"), "n must be >= 1, got 0"),
    (("meta-train", "samples=-1"), "samples must be >= 0"),
    (("monotonicity", "min_pairs=ten"), "min_pairs must be an integer"),
    (("predict", "samples=x"), "samples must be an integer"),
    (("describe", "row=-1"), "row must be >= 0, got -1"),
    (("describe", "colour=red"), "unknown describe option 'colour'"),
])
def test_bad_option_is_one_line(tmp_path, args, message):
    result = hwnas(*args, f"hydra.run.dir={tmp_path}") if args[0] != "describe" else hwnas(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hwnas {args[0]}: error: ") and message in lines[0], lines
    assert not any(tmp_path.iterdir())  # nothing ran


def test_hydra_flags_and_keys_keep_working(tmp_path):
    result = hwnas("search", "--cfg", "job", "max_evals=7", "budget_ms=${oc.env:HWNAS_TEST_BUDGET}",
                   "+launcher=local", "hydra/launcher=joblib", "hydra.job.chdir=false", f"hydra.run.dir={tmp_path}",
                   env={"HWNAS_TEST_BUDGET": "9"})
    assert result.returncode == 0, result.stderr
    assert "max_evals: 7" in result.stdout and "budget_ms: ${oc.env:HWNAS_TEST_BUDGET}" in result.stdout
