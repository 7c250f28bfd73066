"""executor=ray on a local multi-node Ray cluster (loopback): rows land in the store with the worker's
settings, one measurement per device at a time, and a killed device node loses and duplicates no row."""

from __future__ import annotations

import threading
import time

import pytest

ray = pytest.importorskip("ray", reason="the [remote] extra (Ray) is part of the test install")  # CI installs it
from ray.cluster_utils import Cluster  # noqa: E402

from hwnas.cli.commands.measure import measure_into_store  # noqa: E402
from hwnas.core.errors import HwnasError  # noqa: E402
from hwnas.data import device_store  # noqa: E402
from hwnas.measure.backend import BackendSettings, open_meter  # noqa: E402

pytestmark = pytest.mark.slow
TINY = dict(warmup=1, min_repeats=3, max_repeats=3, check_every=1, time_cap_s=1.0, backend="cpu")
ARCHS = [(1,) * 6, (2,) * 6, (3,) * 6, (1, 2, 3, 1, 2, 3), (2, 3, 1, 2, 3, 1), (3, 1, 2, 3, 1, 2)]


@pytest.fixture(scope="module")
def cluster():
    """A head without devices; each test adds a node with its own device resource."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def device_node(cluster, resource: str):
    node = cluster.add_node(num_cpus=1, resources={resource: 1})
    cluster.wait_for_nodes()
    return node


def settings(cluster, resource: str, **extra) -> BackendSettings:
    return BackendSettings(executor="ray", device_resource=resource, ray_address=cluster.address,
                           **{**TINY, **extra})


def test_measurements_land_in_the_local_store_with_the_device_settings(cluster, nb201):
    node = device_node(cluster, "device:a")
    run = measure_into_store(nb201, "local-a", ARCHS[:3], settings(cluster, "device:a"))
    rows = device_store.read("nasbench201", "local-a")
    assert [r["index"] for r in rows] == [r.index for r in run.results] == list(nb201.index(ARCHS[:3]))
    assert {r["status"] for r in rows} == {"ok"} and {r["device_resource"] for r in rows} == {"device:a"}
    assert all(r["host"] and r["backend"] == "cpu" for r in rows)
    with pytest.raises(HwnasError, match="device_resource"):  # rows measured here would mix two machines
        measure_into_store(nb201, "local-a", ARCHS[3:4], BackendSettings(**TINY))
    from hwnas.predictors.measured import MeasuredOracle

    oracle = MeasuredOracle(nb201, "local-a", executor="ray", device_resource="device:a",
                            ray_address=cluster.address, **{k: v for k, v in TINY.items()})
    latency = oracle.predict_ms([ARCHS[0], ARCHS[3]])  # the first is stored: one fresh remote measurement
    assert oracle.fresh_measurements == 1 and latency[1] > 0
    assert len(device_store.read("nasbench201", "local-a")) == 4
    oracle.meter().close()
    cluster.remove_node(node)


def test_two_measurements_never_share_a_device(cluster, nb201):
    node = device_node(cluster, "device:b")
    first = open_meter(nb201, settings(cluster, "device:b"))
    with pytest.raises(HwnasError, match="another measurement holds the device"):
        open_meter(nb201, settings(cluster, "device:b", remote_timeout_s=3))
    first.close()
    second = open_meter(nb201, settings(cluster, "device:b", remote_timeout_s=60))
    assert second.measure(ARCHS[0]).ok
    second.close()
    cluster.remove_node(node)


def _measure_in_background(nb201, device, archs, s):
    outcome = {}

    def work():
        try:
            outcome["run"] = measure_into_store(nb201, device, archs, s)
        except HwnasError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def _wait_for_rows(device: str, n: int, limit_s: float = 120) -> None:
    end = time.monotonic() + limit_s
    while len(device_store.read("nasbench201", device)) < n:
        assert time.monotonic() < end, f"no {n} rows within {limit_s} s"
        time.sleep(0.05)


def test_a_killed_device_node_that_returns_loses_and_duplicates_no_row(cluster, nb201):
    node = device_node(cluster, "device:c")
    slow = settings(cluster, "device:c", min_repeats=100, max_repeats=100, time_cap_s=60, remote_timeout_s=120)
    thread, outcome = _measure_in_background(nb201, "local-c", ARCHS, slow)
    _wait_for_rows("local-c", 2)
    cluster.remove_node(node, allow_graceful=False)   # mid-measurement of the third or a later one
    kept = len(device_store.read("nasbench201", "local-c"))
    device_node(cluster, "device:c")                  # the device comes back
    thread.join(180)
    assert not thread.is_alive() and "error" not in outcome, outcome
    rows = device_store.read("nasbench201", "local-c")
    assert 2 <= kept < len(ARCHS) and [r["index"] for r in rows] == list(nb201.index(ARCHS))   # every one, once, in order


def test_a_device_node_that_stays_away_ends_with_one_line_after_the_timeout(cluster, nb201):
    node = device_node(cluster, "device:d")
    slow = settings(cluster, "device:d", min_repeats=40, max_repeats=40, remote_timeout_s=8)
    thread, outcome = _measure_in_background(nb201, "local-d", ARCHS, slow)
    _wait_for_rows("local-d", 1)
    cluster.remove_node(node, allow_graceful=False)
    thread.join(120)
    assert not thread.is_alive()
    message = str(outcome["error"])
    assert "no answer from the node holding device:d within remote_timeout_s=8 s" in message
    assert "\n" not in message
    indices = [r["index"] for r in device_store.read("nasbench201", "local-d")]
    assert 1 <= len(indices) < len(ARCHS) and indices == list(nb201.index(ARCHS[:len(indices)]))


def test_no_node_with_the_resource_is_one_line(cluster, nb201):
    device_node(cluster, "device:e")
    with pytest.raises(HwnasError, match=r"no live node .* offers resource 'device:jetson' \(device resources "
                                         r"there: .*device:e.*\); on the device run ray start"):
        open_meter(nb201, settings(cluster, "device:jetson"))
