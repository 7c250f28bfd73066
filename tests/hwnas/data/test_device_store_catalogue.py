"""Local devices join the catalogue: listed, looked up, served by `lut`, and typos are refused."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.data import device_store, devices
from hwnas.core.errors import HwnasError
from hwnas.predictors.lut import LookupTable

SETTINGS = {"backend": "cpu", "threads": 2, "batch_size": 1, "dtype": "float32", "channels_last": False}


@pytest.fixture
def local(tmp_path, monkeypatch, nb201):
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))
    rows = [1462, 0, 15_624]
    device_store.append("nasbench201", "local-box", [
        {"index": r, "arch": nb201.to_string(nb201.from_index([r])[0]), "latency_ms": 1.0 + i, "status": "ok",
         **SETTINGS} for i, r in enumerate(rows)])
    return rows


def test_a_measured_local_device_is_in_the_catalogue(local):
    table = devices.devices("nasbench201")
    device = table["local-box"]
    assert (device.kind, device.batch_size, device.n_archs) == ("CPU", 1, 3)
    assert "threads=2" in device.source
    assert len(table) == 27 + 18 + 1
    vector = devices.latency_ms("nasbench201", "local-box")
    np.testing.assert_array_equal(vector[local], [1.0, 2.0, 3.0])
    assert np.isnan(vector).sum() == 15_625 - 3
    devices.check_budget("nasbench201", "local-box", 0.1)  # a partial local table proves nothing infeasible


def test_lut_serves_the_measured_architectures(local, nb201):
    lut = LookupTable(nb201, "local-box")
    assert list(lut.coverage()) == sorted(local)
    np.testing.assert_array_equal(lut.predict_ms(nb201.from_index(local)), [1.0, 2.0, 3.0])


def test_local_cpu_exists_before_its_first_measurement(tmp_path, monkeypatch):
    monkeypatch.setenv(device_store.ENV_VAR, str(tmp_path))
    assert devices.require_device("nasbench201", "local-cpu").n_archs == 0
    assert np.isnan(devices.latency_ms("nasbench201", "local-cpu")).all()
    assert "local-cpu" not in devices.devices("nasbench201")  # listed once measured


def test_an_unmeasured_local_name_is_an_unknown_device(local):
    with pytest.raises(HwnasError, match="unknown device .*'local-bx'. Did you mean: local-box"):
        devices.require_device("nasbench201", "local-bx")
