"""Remote measurement on Ray (executor=ray) on a local two-node cluster over loopback: overhead and faults.

Overhead: the same seeded NB201 networks measured with the local meter and with the Ray meter (a device node
declaring `device:jetson`), with a fixed number of timed runs so both do the same work, interleaved. Reported
per measurement: the host's wall time by path, the paired difference remote - local, and the transport share
(remote wall minus the seconds the worker spent building and timing). Target: < 50 ms per remote measurement.
One-off: joining the cluster and starting the device's worker.

Faults (the store is a temporary folder): (1) the device node is killed while a measurement runs and comes
back: rows stored, duplicates, seconds lost; (2) it is killed and stays away: the command's one line after
`remote_timeout_s`, rows kept.

    nice -n 10 python experiments/ray_overhead.py [--n 30] [--repeats 5] [--fault-archs 8]

Results: experiments/results/ray/ray_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "ray"
RESOURCE = "device:jetson"


def overhead(cluster, space, archs, repeats: int) -> dict:
    from hwnas.measure.backend import BackendSettings, open_meter

    common = dict(backend="cpu", warmup=1, min_repeats=repeats, max_repeats=repeats, check_every=1, time_cap_s=60)
    local = open_meter(space, BackendSettings(**common))
    started = time.perf_counter()
    remote = open_meter(space, BackendSettings(executor="ray", device_resource=RESOURCE,
                                               ray_address=cluster.address, **common))
    one_off_s = time.perf_counter() - started
    rows = []
    for arch in archs:
        pair = {}
        for name, meter in (("local", local), ("remote", remote)):
            t0 = time.perf_counter()
            result = meter.measure(arch)
            pair[name] = (time.perf_counter() - t0, result.seconds)
        rows.append(pair)
    remote.close()
    local_wall = np.array([r["local"][0] for r in rows]) * 1e3
    remote_wall = np.array([r["remote"][0] for r in rows]) * 1e3
    transport = np.array([r["remote"][0] - r["remote"][1] for r in rows]) * 1e3
    local_bookkeeping = np.array([r["local"][0] - r["local"][1] for r in rows]) * 1e3
    return {"archs": len(archs), "timed_runs_per_measurement": repeats, "one_off_connect_and_worker_s": one_off_s,
            "local_wall_ms_median": float(np.median(local_wall)), "remote_wall_ms_median": float(np.median(remote_wall)),
            "paired_remote_minus_local_ms_median": float(np.median(remote_wall - local_wall)),
            "paired_remote_minus_local_ms_p90": float(np.percentile(remote_wall - local_wall, 90)),
            "transport_ms_median": float(np.median(transport - local_bookkeeping)),
            "transport_ms_p90": float(np.percentile(transport - local_bookkeeping, 90)),
            "target_ms": 50.0}


def fault(cluster, space, archs, comes_back: bool, timeout_s: float) -> dict:
    """Kill the device node after two stored rows; bring it back (or not); count what the store holds."""
    from hwnas.cli.commands.measure import measure_into_store
    from hwnas.core.errors import HwnasError
    from hwnas.data import device_store
    from hwnas.measure.backend import BackendSettings

    device = f"local-fault-{'back' if comes_back else 'gone'}"
    node = cluster.add_node(num_cpus=1, resources={RESOURCE: 1})
    cluster.wait_for_nodes()
    settings = BackendSettings(executor="ray", device_resource=RESOURCE, ray_address=cluster.address, backend="cpu",
                               warmup=1, min_repeats=100, max_repeats=100, check_every=1, time_cap_s=60,
                               remote_timeout_s=timeout_s)
    outcome: dict = {}

    def work():
        try:
            measure_into_store(space, device, archs, settings)
        except HwnasError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=work)
    started = time.perf_counter()
    thread.start()
    while len(device_store.read(space.name, device)) < 2:
        time.sleep(0.05)
    cluster.remove_node(node, allow_graceful=False)
    killed_at = time.perf_counter() - started
    kept = len(device_store.read(space.name, device))
    if comes_back:
        time.sleep(2.0)
        cluster.add_node(num_cpus=1, resources={RESOURCE: 1})
        cluster.wait_for_nodes()
    thread.join()
    rows = device_store.read(space.name, device)
    indices = [r["index"] for r in rows]
    expected = list(space.index(archs))
    return {"archs": len(archs), "node_returns": comes_back, "remote_timeout_s": timeout_s,
            "killed_after_s": killed_at, "rows_when_killed": kept, "rows_stored": len(rows),
            "duplicates": len(indices) - len(set(indices)), "rows_in_order": indices == expected[:len(indices)],
            "lost_finished_rows": kept - sum(1 for i in indices[:kept] if i in expected),
            "seconds": time.perf_counter() - started, "error": outcome.get("error")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="NB201 networks measured by each path")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (fixed)")
    parser.add_argument("--fault-archs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HWNAS_DEVICE_STORE", tempfile.mkdtemp(prefix="hwnas_ray_store_"))

    import ray
    from ray.cluster_utils import Cluster

    from hwnas.cli.commands.measure import choose_archs
    from hwnas.search_spaces.nasbench201 import NasBench201

    space = NasBench201()
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    device = cluster.add_node(num_cpus=1, resources={RESOURCE: 1})
    cluster.wait_for_nodes()
    result = {"cluster_start_s": time.perf_counter() - started, "ray": ray.__version__,
              "cpu_count": os.cpu_count(), "load_1min": os.getloadavg()[0]}
    try:
        result["overhead"] = overhead(cluster, space, choose_archs(space, args.n, args.seed), args.repeats)
        cluster.remove_node(device)
        archs = choose_archs(space, args.fault_archs, args.seed + 1)
        result["fault_node_returns"] = fault(cluster, space, archs, comes_back=True, timeout_s=120)
        for node in list(cluster.worker_nodes):
            cluster.remove_node(node)
        result["fault_node_stays_away"] = fault(cluster, space, archs, comes_back=False, timeout_s=10)
    finally:
        ray.shutdown()
        cluster.shutdown()
    result["load_1min_after"] = os.getloadavg()[0]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ray_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
