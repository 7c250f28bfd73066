"""The `measured` oracle: real measurements instead of predictions.

On a local device (`local-cpu`, ...) every architecture asked about is built and timed on this
machine (torch on CPU threads or CUDA events, or ONNX Runtime: see `hwnas.measure.backend`), or on the Ray node
holding `device_resource` with `executor=ray` (`hwnas.measure.remote_ray`), and appended to the local device
store, so the device then works with every other oracle; stored medians are reused unless `reuse`
is off. A shipped device cannot be measured from here: it is refused (its recorded table is `oracle=lut`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.data import device_store, devices
from hwnas.core.errors import HwnasError, true_or_false
from hwnas.measure.backend import ArchMeasurement, BackendSettings, measure_archs, open_meter
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace


class MeasuredOracle(LatencyOracle):
    """Measures on this machine; an architecture that cannot be built or run gets latency inf (never feasible)."""

    name = "measured"

    def __init__(self, space: SearchSpace, device: str = "local-cpu", backend: str = "auto", threads: int = 1,
                 batch_size: int = 1, dtype: str = "float32", channels_last: bool = False, warmup: int = 3,
                 min_repeats: int = 10, max_repeats: int = 200, check_every: int = 5,
                 rel_tolerance: float = 0.02, time_cap_s: float = 2.0, clock: str = "auto", runtime: str = "torch",
                 graph_optimization: str = "all", executor: str = "local", device_resource: str | None = None,
                 ray_address: str = "auto", remote_timeout_s: float = 600.0, store: bool = True, reuse: bool = True):
        super().__init__(space, device)
        for key, value in (("store", store), ("reuse", reuse), ("channels_last", channels_last)):
            true_or_false("oracle measured", key, value)
        self.local = device_store.is_local(device)
        if clock == "auto":
            clock = device_store.auto_clock(space.name, device, threads)
        self.settings = BackendSettings(
            backend=backend, threads=threads, batch_size=batch_size, dtype=dtype, channels_last=channels_last,
            warmup=warmup, min_repeats=min_repeats, max_repeats=max_repeats, check_every=check_every,
            rel_tolerance=rel_tolerance, time_cap_s=time_cap_s, clock=clock, runtime=runtime,
            graph_optimization=graph_optimization, executor=executor, device_resource=device_resource,
            ray_address=ray_address, remote_timeout_s=remote_timeout_s).resolved()
        self._meter = None
        self.store = bool(store)
        self._cache: dict[Arch, float] = {}
        self.fresh_measurements = 0
        self.measurement_seconds = 0.0
        self.failures: list[ArchMeasurement] = []
        if self.local:
            device_store.check_name(device)
            if self.store:
                device_store.check_settings(space.name, device, self.meter().device_settings())
            self._stored_ms = self._stored_table() if reuse else None
            self._covered = None
        else:
            devices.require_device(space.name, device)
            raise HwnasError(f"oracle=measured times networks on this machine, and {device} is a shipped table "
                             f"device, not this machine: use oracle=lut for its recorded latencies, or a "
                             f"local-<name> device to measure here")

    def meter(self):
        """What measures (`hwnas.measure.backend.open_meter`), opened on first use and kept: with executor=ray
        its worker holds the device until the process ends."""
        if self._meter is None:
            self._meter = open_meter(self.space, self.settings)
        return self._meter

    def _stored_table(self) -> np.ndarray | None:
        try:
            n_rows = len(self.space.table_archs())
        except HwnasError:
            return None
        return device_store.table(self.space.name, self.device, n_rows).latency_ms

    def coverage(self) -> np.ndarray | None:
        return self._covered

    def measurements_taken(self) -> tuple[int, float]:
        return self.fresh_measurements, self.measurement_seconds

    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        matrix = self.space.checked_matrix(archs)
        keys = [tuple(int(v) for v in row) for row in matrix]
        if self._stored_ms is not None and len(keys):
            rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
            for key, row in zip(keys, rows):
                if key not in self._cache and row >= 0 and np.isfinite(self._stored_ms[row]):
                    self._cache[key] = float(self._stored_ms[row])
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if todo:
            self.measure(todo)
        return np.array([self._cache[k] for k in keys], dtype=float)

    def measure(self, archs: Sequence[Arch]) -> list[ArchMeasurement]:
        """Measure `archs` now on this machine (no reuse), storing each as it finishes; Ctrl-C keeps them."""
        def keep(result: ArchMeasurement) -> None:
            self.fresh_measurements += 1
            self.measurement_seconds += result.seconds
            self._cache[result.arch] = result.latency_ms if result.ok else float("inf")
            if not result.ok:
                self.failures.append(result)
            if self.store:
                device_store.append(self.space.name, self.device, [result.store_row(self.space)])

        run = measure_archs(self.space, [tuple(int(v) for v in a) for a in archs], self.settings, on_each=keep,
                            meter=self.meter())
        if run.interrupted:
            raise KeyboardInterrupt
        return run.results
