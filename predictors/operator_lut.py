"""Per-operator lookup table: each distinct (block, input shape) timed once on this machine's CPU, summed.

This is how HW-NAS-Bench (Li et al. 2021) built its FBNet tables and Once-for-All (Cai et al. 2020)
its latency model: a network's latency is the sum of its operators' latencies. The table covers the
whole space (FBNet: 110 operators, OFA-MobileNetV3: 1,226 over all 25 resolutions) and is cached on
disk per machine and measurement settings; `runtime=onnxruntime` times each operator exported to ONNX. The sum is in this CPU's milliseconds; for a tabled
target device a linear calibration on `samples` target measurements (HELP's reference archs first)
maps it to the device (`calibrate: true`), since only the ranking transfers, not the scale.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from hwnas.data import cache, devices
from hwnas.core.errors import HwnasError
from hwnas.measure.backend import EXPORTED, BackendSettings, measure_exported
from hwnas.measure.timing import MeasurementSettings, host_signature, measure_latency_ms
from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch, SearchSpace


def default_cache_dir() -> Path:
    """`$HWNAS_CACHE_DIR`, else ~/.cache/hwnas."""
    return cache.cache_dir()


class OperatorLUT(LatencyOracle):
    """Sum of per-operator CPU latencies, optionally calibrated to the target device."""

    name = "operator_lut"

    def __init__(self, space: SearchSpace, device: str, samples: int = 10, calibrate: bool = True,
                 threads: int = 1, warmup: int = 2, min_repeats: int = 5, rel_tolerance: float = 0.05,
                 time_cap_s: float = 0.5, clock: str = "wall", runtime: str = "torch", graph_optimization: str = "all",
                 cache_dir: str | None = None, seed: int = 0):
        super().__init__(space, device)
        if not all(hasattr(space, m) for m in ("operators", "operator_index", "build_operator")):
            raise HwnasError(f"oracle operator_lut needs a space made of operators; space {space.name} is not "
                             "one. Valid: fbnet, ofa_mbv3")
        devices.require_device(space.name, device)
        self.samples, self.calibrate, self.seed = int(samples), bool(calibrate), int(seed)
        self.settings = MeasurementSettings(threads=threads, warmup=warmup, min_repeats=min_repeats,
                                            rel_tolerance=rel_tolerance, time_cap_s=time_cap_s, clock=clock)
        self.runtime = BackendSettings(runtime=runtime, graph_optimization=graph_optimization, backend="cpu",
                                       threads=threads, clock=clock).resolved().runtime_settings()
        self.cache_path = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.scale, self.offset_ms = 1.0, 0.0
        start = time.perf_counter()
        self.operator_ms, self.measured_now, self.measure_seconds = self._load_or_measure()
        self._setup_seconds = time.perf_counter() - start

    # ---------------------------------------------------------------- the table
    def _cache_file(self) -> Path:
        signature = {"space": self.space.name, "num_classes": getattr(self.space, "num_classes", None),
                     "host": host_signature(self.settings), "settings": self.settings.to_dict()}
        if self.runtime["runtime"] != "torch":  # torch tables keep the cache names they had before runtimes
            signature["runtime"] = self.runtime
        digest = hashlib.sha1(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:12]
        return self.cache_path / f"operator_lut_{self.space.name}_{digest}.json"

    def _load_or_measure(self) -> tuple[np.ndarray, int, float]:
        import torch

        specs = self.space.operators()
        path = self._cache_file()
        entries: dict = {}
        if path.is_file():
            try:
                entries = json.loads(path.read_text())["entries"]
                if not all(isinstance(v["median_ms"], (int, float)) for v in entries.values()):
                    raise ValueError("non-numeric latency")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise HwnasError(f"corrupt operator latency cache {path}: {exc}; delete it to re-measure") from None
        missing = [s for s in specs if s.key not in entries]
        seconds = 0.0
        if missing:
            torch.manual_seed(self.seed)
            for spec in missing:
                entries[spec.key], spent_s = self._measure(spec)
                seconds += spent_s
            cache.atomic_write_json(path, {"space": self.space.name, "host": host_signature(self.settings),
                                           "settings": self.settings.to_dict(), "entries": entries}, indent=1)
        return np.array([entries[s.key]["median_ms"] for s in specs], dtype=float), len(missing), seconds

    def _measure(self, spec) -> tuple[dict, float]:
        """One operator timed in the chosen runtime: its cache entry and the seconds spent."""
        module = self.space.build_operator(spec)
        if self.runtime["runtime"] in EXPORTED:
            start = time.perf_counter()
            median, iqr, _, repeats, stable = measure_exported(module, spec.input_shape, self.settings,
                                                               self.runtime["runtime"],
                                                               self.runtime["graph_optimization"])
            return ({"median_ms": median, "iqr_ms": iqr, "repeats": repeats, "stable": stable},
                    time.perf_counter() - start)
        result = measure_latency_ms(module, spec.input_shape, self.settings)
        return ({"median_ms": result.median_ms, "iqr_ms": result.iqr_ms, "repeats": result.repeats,
                 "stable": result.stable}, result.seconds)

    def local_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """Sum of the operators' latencies on this machine's CPU (ms), batched."""
        matrix = self.space.checked_matrix(archs)
        if matrix.size == 0:
            return np.zeros(0)
        ids = self.space.operator_index(matrix)
        return np.where(ids >= 0, self.operator_ms[np.maximum(ids, 0)], 0.0).sum(axis=1)

    # ---------------------------------------------------------------- oracle interface
    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        return self.scale * self.local_ms(archs) + self.offset_ms

    def reference_archs(self) -> list[Arch]:
        """The space's reference archs (HELP's), then seeded random table rows, `samples` in all."""
        if not self.calibrate or self.samples < 1:
            return []
        rows = [int(r) for r in self.space.reference_rows().rows][: self.samples]
        if len(rows) < self.samples:
            n_table = len(self.space.table_archs())
            extra = np.random.default_rng(self.seed).permutation(n_table)
            rows += [int(r) for r in extra if int(r) not in rows][: self.samples - len(rows)]
        table = np.asarray(self.space.table_archs())
        return [tuple(int(v) for v in table[r]) for r in rows]

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        """Least-squares line from the CPU sum to the target's latency (a ratio when it would not rise)."""
        local = self.local_ms(archs)
        target = np.asarray(latency_ms, dtype=float)
        if len(local) >= 2 and np.ptp(local) > 0:
            slope, offset = np.polyfit(local, target, 1)
            if slope > 0:
                self.scale, self.offset_ms = float(slope), float(offset)
                return
        self.scale, self.offset_ms = float(np.median(target / local)), 0.0

    def setup_cost(self) -> SetupCost:
        return SetupCost(shared_measurements=self.measured_now, shared_seconds=self.measure_seconds,
                         seconds=self._setup_seconds)

