"""CPU timing: stopping rules, settings recorded, threads and training mode restored, bad settings refused."""

from __future__ import annotations

import time

import pytest
import torch

from hwnas.core.errors import HwnasError
from hwnas.measure.timing import MeasurementSettings, measure_latency_ms


class Sleeper(torch.nn.Module):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.lin = torch.nn.Linear(4, 4)

    def forward(self, x):
        time.sleep(self.seconds)
        return self.lin(x)


def test_median_of_a_known_duration():
    settings = MeasurementSettings(warmup=1, min_repeats=5, rel_tolerance=0.5, time_cap_s=2.0, clock="wall")
    m = measure_latency_ms(Sleeper(0.005), (1, 4), settings)
    assert 5.0 <= m.median_ms < 40.0
    assert m.min_ms <= m.median_ms and m.iqr_ms >= 0
    assert settings.min_repeats <= m.repeats <= settings.max_repeats
    assert m.settings == settings.to_dict() and m.seconds > 0


def test_time_cap_ends_an_unstable_measurement():
    settings = MeasurementSettings(warmup=0, min_repeats=50, max_repeats=100, time_cap_s=0.1, clock="wall")
    m = measure_latency_ms(Sleeper(0.01), (1, 4), settings)
    assert m.repeats < 50 and not m.stable
    assert m.seconds < 1.0


def test_threads_and_mode_restored():
    before = torch.get_num_threads()
    net = torch.nn.Linear(8, 8).train()
    m = measure_latency_ms(net, (2, 8), MeasurementSettings(threads=1, warmup=0, min_repeats=3, time_cap_s=0.2))
    assert torch.get_num_threads() == before and net.training
    assert m.settings["threads"] == 1


@pytest.mark.parametrize("kwargs", [dict(threads=0), dict(min_repeats=10, max_repeats=5), dict(time_cap_s=0),
                                    dict(rel_tolerance=-1)])
def test_bad_settings_refused(kwargs):
    with pytest.raises(HwnasError):
        MeasurementSettings(**kwargs)


def test_thread_cpu_clock_ignores_waiting():
    # sleeping costs wall time but no CPU time: the thread clock is robust to a shared machine
    settings = MeasurementSettings(warmup=0, min_repeats=3, max_repeats=3, clock="thread_cpu")
    assert measure_latency_ms(Sleeper(0.01), (1, 4), settings).median_ms < 5.0
    with pytest.raises(HwnasError, match="wall, thread_cpu"):
        MeasurementSettings(clock="gpu")
