"""executor=ray refusals that need no cluster: each is one line before any work, never a hang."""

from __future__ import annotations

import sys
import time

import pytest

from hwnas.core.errors import HwnasError
from hwnas.measure.backend import BackendSettings, open_meter

from cli_runner import hwnas


def test_ray_settings_are_checked_before_connecting():
    with pytest.raises(HwnasError, match="give device_resource="):
        BackendSettings(executor="ray").resolved()
    with pytest.raises(HwnasError, match="unknown measurement executor 'rya'"):
        BackendSettings(executor="rya").resolved()
    with pytest.raises(HwnasError, match="remote_timeout_s must be a number > 0"):
        BackendSettings(executor="ray", device_resource="device:x", remote_timeout_s=0).resolved()
    remote = BackendSettings(executor="ray", device_resource="device:x").resolved()
    assert remote.backend == "auto"                      # resolved on the device's node, not here
    assert remote.device_settings()["device_resource"] == "device:x"
    assert BackendSettings(backend="cpu").resolved().device_settings()["device_resource"] == ""


def test_ray_not_installed_is_one_line(nb201, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)    # `import ray` raises ImportError
    with pytest.raises(HwnasError, match=r"executor=ray needs Ray, which is not installed: pip install"):
        open_meter(nb201, BackendSettings(executor="ray", device_resource="device:x"))


def test_an_unreachable_head_is_one_line_from_the_command_line(tmp_path):
    started = time.monotonic()
    result = hwnas("measure", "executor=ray", "device_resource=device:x", "ray_address=127.0.0.1:9",
                   "device=local-x", "n=1", f"hydra.run.dir={tmp_path}", env={"HWNAS_DEVICE_STORE": str(tmp_path)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot reach the Ray head at ray_address=127.0.0.1:9" in result.stderr
    assert time.monotonic() - started < 120 and not list(tmp_path.glob("nasbench201/*.csv"))


def test_no_command_imports_ray_until_executor_ray_is_used():
    import subprocess

    code = ("import pkgutil, importlib, sys, hwnas.cli.commands as c, hwnas.measure.backend, "
            "hwnas.predictors.measured\n"
            "[importlib.import_module(f'hwnas.cli.commands.{m.name}') for m in pkgutil.iter_modules(c.__path__)]\n"
            "assert 'ray' not in sys.modules, 'ray imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_a_stored_row_names_the_machine_that_measured_not_this_one(nb201):
    from hwnas.measure.backend import ArchMeasurement, machine_record

    here = machine_record(BackendSettings(backend="cpu").resolved())
    worker = {**here, "host": "jetson-7 aarch64", "torch": "2.5.0", "device_resource": "device:jetson"}
    result = ArchMeasurement((1,) * 6, 5, 1.5, 0.1, 1.4, 10, True, "ok", "", 0.2, worker)
    row = result.store_row(nb201)
    assert (row["host"], row["torch"], row["device_resource"]) == ("jetson-7 aarch64", "2.5.0", "device:jetson")
    assert here["host"] != "jetson-7 aarch64" and here["device_resource"] == ""


def test_backend_ray_points_to_executor_ray(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "hwnas.cli", "measure", "backend=ray", "device=local-x",
                             f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "backend=ray is not a measurement backend; did you mean executor=ray" in result.stderr
