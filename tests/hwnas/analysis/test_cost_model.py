"""The end-to-end cost model: per-measurement seconds, methods in one currency, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from hwnas.data import devices
from hwnas.config import conf_dir
from hwnas.analysis.cost_model import CostModel
from hwnas.core.errors import HwnasError


@pytest.fixture(scope="module")
def model() -> CostModel:
    return CostModel.load()


def test_seconds_per_measurement_follows_the_yaml(model):
    raw = OmegaConf.load(conf_dir() / "cost_model.yaml")
    runs = raw.warmup_runs + raw.timed_runs
    assert model.seconds_per_measurement("phone", 20.0) == pytest.approx(raw.overhead_s.phone + runs * 0.020)
    assert model.seconds_per_measurement("no such kind", 0.0) == pytest.approx(raw.overhead_s.other)
    mean_ms = np.nanmean(devices.latency_ms("nasbench201", "raspi4"))
    assert model.device_seconds_per_measurement("nasbench201", "raspi4") == pytest.approx(
        raw.overhead_s["embedded CPU"] + runs * mean_ms / 1000)


def test_full_lut_measures_every_architecture(model):
    cost = model.method_cost("full_lut", "nasbench201", "pixel2")
    assert cost["per_device_measurements"] == 15_625
    assert cost["total_s"] == pytest.approx(15_625 * cost["seconds_per_measurement"])


def test_shared_work_is_amortised_over_devices(model):
    one = model.method_cost("help", "nasbench201", "pixel2", n_devices=1)
    ten = model.method_cost("help", "nasbench201", "pixel2", n_devices=10)
    assert ten["shared_s"] == one["shared_s"] > 0
    assert ten["amortised_per_device_s"] < one["amortised_per_device_s"]
    assert ten["total_s"] == pytest.approx(10 * one["per_device_s"] + one["shared_s"])


def test_every_method_in_one_currency_and_few_samples_beat_a_full_table(model):
    rows = {r["method"]: r for r in model.compare("nasbench201", "raspi4", n_devices=(1,))}
    assert set(rows) == set(model.methods) == set(OmegaConf.load(conf_dir() / "cost_model.yaml").methods)
    assert model.methods == ("full_lut", "operator_lut", "help", "oneproxy", "brpnas", "measure_every_candidate")
    assert rows["help"]["total_s"] < rows["full_lut"]["total_s"]
    assert rows["oneproxy"]["total_s"] < rows["measure_every_candidate"]["total_s"] < rows["full_lut"]["total_s"]
    assert model.method_cost("measure_every_candidate", "nasbench201", "raspi4", evaluations=600)["total_s"] == \
        pytest.approx(2 * rows["measure_every_candidate"]["total_s"])


def test_public_data_is_counted_once_when_asked(model):
    counted = CostModel.load(overrides={"count_public_data": True})
    per_s = model.device_seconds_per_measurement("nasbench201", "pixel2")
    help_cost = counted.method_cost("help", "nasbench201", "pixel2")
    assert help_cost["shared_s"] == pytest.approx(432.0 + 9 * 900 * per_s)
    oneproxy = counted.method_cost("oneproxy", "nasbench201", "pixel2")
    assert oneproxy["shared_s"] == pytest.approx(1999 * model.seconds_per_measurement("phone", 0.0))
    assert model.method_cost("oneproxy", "nasbench201", "pixel2")["shared_s"] == 0.0
    with pytest.raises(HwnasError, match="unknown space in cost_model.methods.operator_lut.samples 'tiny'"):
        model._samples("operator_lut", model.config["methods"]["operator_lut"], "tiny", "pixel2", None)


def test_overrides_and_run_seconds():
    model = CostModel.load(overrides={"overhead_s.phone": 0.0, "timed_runs": 0, "warmup_runs": 0})
    assert model.device_seconds_per_measurement("nasbench201", "pixel2") == 0.0
    cost = {"target_measurements_total": 10, "wall_seconds": {"setup": 1.0, "search": 2.0},
            "shared_setup": {"seconds": 100.0}}
    seconds = CostModel.load().run_seconds(cost, "nasbench201", "pixel2", n_devices=4)
    assert seconds["shared_amortised_s"] == pytest.approx(25.0) and seconds["compute_s"] == pytest.approx(3.0)
    assert seconds["total_s"] == pytest.approx(seconds["measurement_s"] + 28.0)


@pytest.mark.parametrize("call, message", [
    (lambda m: m.method_cost("full_lutt", "nasbench201", "pixel2"), "Did you mean: full_lut"),
    (lambda m: m.method_cost("help", "nasbench201", "pixel2", n_devices=0), "n_devices must be >= 1"),
    (lambda m: m.method_cost("help", "nasbench201", "pixle2"), "unknown device"),
])
def test_bad_requests_are_explained(model, call, message):
    with pytest.raises(HwnasError, match=message):
        call(model)


def test_bad_files_and_keys_are_explained(tmp_path):
    with pytest.raises(HwnasError, match="unknown cost model key"):
        CostModel.load(overrides={"overhead_s.toaster": 1.0})
    bad = tmp_path / "bad.yaml"
    bad.write_text("warmup_runs: [unclosed\n")
    with pytest.raises(HwnasError, match="not valid YAML"):
        CostModel.load(bad)
    with pytest.raises(HwnasError, match="not found"):
        CostModel.load(tmp_path / "missing.yaml")
