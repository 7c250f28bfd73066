"""The plug-in folders install under the hwnas namespace only: no top-level `strategies` or `predictors`
reaches a user's environment, and a user's own `strategies.py` cannot shadow hwnas's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TOP_LEVEL = ("strategies", "predictors", "search_spaces", "evaluators", "hwnas_nni")


def _python(cwd, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Python in `cwd`, as a user would start it (no PYTHONPATH pointing into the repository)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HWNAS_CONFIG_PATH")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_no_generic_top_level_package(tmp_path, name):
    result = _python(tmp_path, "-c", f"import {name}")
    assert result.returncode != 0
    assert f"ModuleNotFoundError: No module named '{name}'" in result.stderr


def test_the_plugins_import_under_hwnas(tmp_path):
    code = ("from hwnas.strategies.evolution import RegularizedEvolution; "
            "from hwnas.predictors.lut import LookupTable; "
            "from hwnas.search_spaces.nasbench201 import NasBench201; "
            "from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy; "
            "import hwnas.nni; print(RegularizedEvolution.__module__)")
    result = _python(tmp_path, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hwnas.strategies.evolution"


def test_user_files_with_the_plugin_folders_names_change_nothing(tmp_path):
    """`python -m` puts the working folder first on sys.path: files named like the plug-in folders there
    would be imported instead, if hwnas used those names. Each one fails loudly if imported."""
    for name in TOP_LEVEL[:-1]:
        (tmp_path / f"{name}.py").write_text(f"raise RuntimeError('the user file {name}.py was imported')\n")
    run_dir = tmp_path / "run"
    result = _python(tmp_path, "-m", "hwnas.cli", "search", "max_evals=20", "progress=false", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["strategy"] == "evolution" and summary["cost"]["evaluations"] == 20
    assert summary["best"]["feasible"]
