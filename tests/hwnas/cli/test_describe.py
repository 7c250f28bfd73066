"""hwnas describe: forms, table row, parameter count of the built network, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwnas.cli.commands.describe import describe, main, parse_args
from hwnas.core.errors import HwnasError
from hwnas.measure.model_stats import parameter_count
from hwnas.search_spaces.fbnet import FBNet

ROOT = Path(__file__).resolve().parents[3]


def test_row_and_arch_give_the_same_description():
    by_row = describe(parse_args(["space=fbnet", "row=17"]))
    space = FBNet()
    arch = tuple(space.table_archs()[17])
    by_arch = describe(parse_args(["space=fbnet", f"arch={space.to_string(arch)}"]))
    assert by_row["table_row"] == by_arch["table_row"] == 17
    assert by_row["parameters"] == parameter_count(space.build(arch))
    assert by_row["data_form"] == {"op_idx_list": [int(v) for v in arch]}
    assert by_row["flops"] > 0 and by_row["macs"] == by_row["flops"] // 2
    assert set(by_row["table_latency_ms"]) >= {"raspi4", "pixel3"}


def test_ofa_json_form_and_untabled_arch(capsys):
    form = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128}
    info = main(["space=ofa_mbv3", f"arch={json.dumps(form)}"])
    assert info["table_row"] is None and info["input_shape"] == [1, 3, 128, 128]
    assert "not in the data set" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["space=fbnet"], "exactly one"),
    (["space=fbnet", "row=5000"], "out of range"),
    (["space=fbnet", "colour=red"], "describe option"),
    (["space=fbnett", "row=1"], "Did you mean: fbnet"),
])
def test_errors(argv, needle):
    with pytest.raises(HwnasError, match=needle):
        describe(parse_args(argv))


def test_cli_prints_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "hwnas.cli", "describe", "space=ofa_mbv3",
                           "arch=r130:k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "128..224 step 4" in proc.stderr and "Traceback" not in proc.stderr
