"""End-to-end cost model: every way of getting latencies for new devices priced in seconds.

Seconds per target measurement come from the device kind (deployment overhead) plus the runs of the
timing loop, so "a full lookup table", "HELP: 10 samples + amortised meta-training" (Lee et al. 2021),
"OneProxy: probes + amortised proxy table" (Lu et al. 2021) and "measure every candidate" compare in
one currency, for 1 and for N new devices. The methods and their costs live in `conf/cost_model.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hwnas.core.errors import HwnasError, unknown_choice


def _default_path() -> Path:
    from hwnas.config import conf_dir

    return conf_dir() / "cost_model.yaml"


@dataclass
class CostModel:
    """Seconds per measurement by device kind, plus the shared one-off work of each method."""

    config: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> "CostModel":
        """Read the YAML (default `conf/cost_model.yaml`) and apply dotted-key overrides."""
        from omegaconf import OmegaConf

        path = Path(path) if path is not None else _default_path()
        if not path.is_file():
            raise HwnasError(f"cost model file {path} not found")
        try:
            node = OmegaConf.load(path)
        except Exception as exc:  # noqa: BLE001 - any YAML error becomes one line
            raise HwnasError(f"cost model file {path} is not valid YAML: {exc}") from None
        for key, value in (overrides or {}).items():
            if OmegaConf.select(node, key) is None:
                raise HwnasError(f"unknown cost model key {key!r}; top-level keys: {', '.join(node.keys())}")
            OmegaConf.update(node, key, value)
        model = cls(OmegaConf.to_container(node, resolve=True))
        model._check()
        return model

    def _check(self) -> None:
        for key in ("warmup_runs", "timed_runs", "overhead_s", "methods"):
            if key not in self.config:
                raise HwnasError(f"cost model lacks {key!r}")
        for method, spec in self.config["methods"].items():
            if not isinstance(spec, Mapping) or "samples" not in spec:
                raise HwnasError(f"cost model method {method!r} lacks 'samples' (target measurements per new device)")
        bad = {k: v for k, v in self.config["overhead_s"].items() if not float(v) >= 0}
        if bad:
            raise HwnasError(f"cost model overhead_s must be >= 0 seconds, got {bad}")

    # ------------------------------------------------------------------ per measurement
    def overhead_s(self, kind: str) -> float:
        table = self.config["overhead_s"]
        return float(table.get(kind, table.get("other", 0.0)))

    def seconds_per_measurement(self, kind: str, latency_ms: float | np.ndarray) -> float | np.ndarray:
        """Deployment overhead of `kind` plus (warmup + timed) inference runs of `latency_ms` each."""
        runs = int(self.config["warmup_runs"]) + int(self.config["timed_runs"])
        return self.overhead_s(kind) + runs * np.asarray(latency_ms, dtype=float) / 1000.0

    def device_seconds_per_measurement(self, space: str, device: str) -> float:
        """Mean seconds to measure one architecture of `space` on a tabled `device`."""
        from hwnas.data import devices

        kind = devices.require_device(space, device).kind
        return float(self.seconds_per_measurement(kind, np.nanmean(devices.latency_ms(space, device))))

    # ------------------------------------------------------------------ methods compared
    @property
    def methods(self) -> tuple[str, ...]:
        """The methods compared, in the YAML's order."""
        return tuple(self.config["methods"])

    def method_cost(self, method: str, space: str, device: str, n_devices: int = 1,
                    evaluations: int | None = None) -> dict:
        """Cost of `method` for `n_devices` new devices like `device`: measurements and seconds.

        `per_device_*` is paid once per new device; `shared_s` once in all (amortised over N).
        """
        if method not in self.config["methods"]:
            raise unknown_choice("cost method", method, self.methods)
        if int(n_devices) < 1:
            raise HwnasError(f"n_devices must be >= 1, got {n_devices}")
        spec, per_s = self.config["methods"][method], self.device_seconds_per_measurement(space, device)
        measurements = self._samples(method, spec, space, device, evaluations)
        compute_s = float(spec.get("compute_s", 0.0))
        shared_s = float(spec.get("shared_compute_s", 0.0))
        if self.config.get("count_public_data") and spec.get("public_measurements"):
            kind = spec.get("public_kind")
            price_s = per_s if kind is None else self.seconds_per_measurement(kind, 0.0)
            shared_s += spec["public_measurements"] * price_s
        per_device_s = measurements * per_s + compute_s
        n = int(n_devices)
        return {
            "method": method, "space": space, "device": device, "n_devices": n,
            "per_device_measurements": measurements, "seconds_per_measurement": per_s,
            "per_device_s": per_device_s, "shared_s": shared_s,
            "total_s": n * per_device_s + shared_s, "amortised_per_device_s": per_device_s + shared_s / n,
        }

    @staticmethod
    def _samples(method: str, spec: Mapping, space: str, device: str, evaluations: int | None) -> int:
        """Target measurements per new device: a number, one per space, `table` or `evaluations`."""
        samples = spec["samples"]
        if samples == "table":
            from hwnas.data import devices

            return int(np.isfinite(devices.latency_ms(space, device)).sum())
        if samples == "evaluations":
            return int(evaluations if evaluations is not None else spec["evaluations"])
        if isinstance(samples, Mapping):
            if space not in samples:
                raise unknown_choice(f"space in cost_model.methods.{method}.samples", space, samples)
            return int(samples[space])
        return int(samples)

    def compare(self, space: str, device: str, n_devices: list[int] | tuple[int, ...] = (1, 10),
                evaluations: int | None = None) -> list[dict]:
        """Every method for 1 and for N devices, in one currency."""
        return [self.method_cost(m, space, device, n, evaluations) for n in n_devices for m in self.methods]

    # ------------------------------------------------------------------ a run's ledger
    def run_seconds(self, cost: Mapping[str, Any], space: str, device: str, n_devices: int = 1) -> dict:
        """A run's `summary.cost` in seconds: target measurements priced by this model, the compute
        wall time of the run, and its shared setup amortised over `n_devices`."""
        per_s = self.device_seconds_per_measurement(space, device)
        measurement_s = float(cost["target_measurements_total"]) * per_s
        wall = cost.get("wall_seconds", {})
        compute_s = float(sum(wall.values())) if isinstance(wall, Mapping) else float(wall or 0.0)
        shared_s = float(cost.get("shared_setup", {}).get("seconds", 0.0)) / max(int(n_devices), 1)
        return {"measurement_s": measurement_s, "compute_s": compute_s, "shared_amortised_s": shared_s,
                "total_s": measurement_s + compute_s + shared_s}
