"""Measuring on a device that joined a Ray cluster (Moritz et al. 2018): `executor=ray`.

The device runs `ray start --address=<head> --resources='{"device:jetson": 1}'`; `RayMeter` starts one
worker actor that asks for that resource (so the device's single unit is held by one measuring worker at a
time: two measurements never share a device), hands it the space once, and sends one architecture per call.
The worker builds and times the network with the ordinary timing rule and returns the measurement with its
own host name, versions and resolved settings; the caller appends it to this machine's local store, so a
finished measurement is stored once. When the device's node dies, Ray restarts the worker and retries the call
once a node with the resource is back; a call without an answer within `remote_timeout_s` ends the command
with one line. Only this module imports Ray, and only when a meter is opened.
"""

from __future__ import annotations

import logging
import socket

from hwnas.core.errors import HwnasError
from hwnas.core.space import Arch, SearchSpace
from hwnas.measure.backend import ArchMeasurement, BackendSettings, machine_record, measure_arch

INSTALL = "pip install 'hwnas[remote]' (Ray), on this machine and on the device"
CONNECT_TIMEOUT_S = 5.0


class DeviceWorker:
    """Runs on the device's node (a Ray actor): builds and times one architecture per call."""

    def __init__(self, space: SearchSpace, settings: BackendSettings):
        self.space, self.settings = space, settings.resolved_here()

    def machine(self) -> dict:
        return machine_record(self.settings)

    def measure(self, arch: Arch, index: int) -> ArchMeasurement:
        return measure_arch(self.space, arch, self.settings, index=index)


class RayMeter:
    """The meter for `executor=ray` (`hwnas.measure.backend.open_meter`): connects, finds the device, starts
    its worker; `measure` returns what the worker measured."""

    def __init__(self, space: SearchSpace, settings: BackendSettings):
        self.ray = _import_ray()
        self.space, self.settings = space, settings
        self.resource, self.timeout_s = str(settings.device_resource), float(settings.remote_timeout_s)
        connect(self.ray, settings.ray_address)
        require_resource(self.ray, self.resource, settings.ray_address)
        worker = self.ray.remote(DeviceWorker).options(
            resources={self.resource: 1}, num_cpus=0, max_restarts=-1, max_task_retries=-1)
        self.actor = worker.remote(space, settings)
        self.machine = self._get(self.actor.machine.remote(), "starting the measuring worker")

    def device_settings(self) -> dict:
        """The device's settings as resolved on its node (backend, runtime version), for the store's check."""
        return {key: value for key, value in self.machine.items() if key not in ("torch", "host")}

    def measure(self, arch: Arch) -> ArchMeasurement:
        from hwnas.measure.backend import _table_index

        arch = tuple(int(v) for v in arch)
        return self._get(self.actor.measure.remote(arch, _table_index(self.space, arch)),
                         f"measuring {self.space.to_string(arch)}")

    def close(self) -> None:
        self.ray.kill(self.actor, no_restart=True)

    def _get(self, ref, what: str):
        ray = self.ray
        try:
            return ray.get(ref, timeout=self.timeout_s)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise HwnasError(
                f"executor=ray: no answer from the node holding {self.resource} within remote_timeout_s="
                f"{self.timeout_s:g} s while {what} (its node is gone, or another measurement holds the device); "
                "measurements finished before are stored") from None
        except ray.exceptions.RayError as exc:
            self.close()
            raise HwnasError(f"executor=ray: the node holding {self.resource} failed while {what}: "
                             f"{_first_line(exc)} (is hwnas installed there, with the same versions?)") from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise HwnasError(f"executor=ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def connect(ray, address: str) -> None:
    """Join the cluster at `address` (`auto`: the one `ray start` runs on this machine), quietly; an address
    nobody answers on is refused within CONNECT_TIMEOUT_S instead of waiting on Ray's long retries."""
    if ray.is_initialized():
        joined = ray.get_runtime_context().gcs_address
        if address not in ("auto", joined):
            raise HwnasError(f"executor=ray: this process already joined the Ray cluster at {joined}, not "
                             f"ray_address={address}")
        return
    if address != "auto":
        host, port = _host_port(address)
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise HwnasError(f"executor=ray: cannot reach the Ray head at ray_address={address} ({exc}); "
                             "start it with `ray start --head` or give its address (host:6379 or auto)") from None
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise HwnasError(f"executor=ray: cannot join a Ray cluster at ray_address={address}: {_first_line(exc)} "
                         "(start one with `ray start --head`)") from None


def require_resource(ray, resource: str, address: str) -> None:
    """A live node must declare exactly one unit of `resource` (one unit = one device, one measurement)."""
    holders = [n for n in ray.nodes() if n.get("Alive") and resource in n.get("Resources", {})]
    if not holders:
        known = sorted({r for n in ray.nodes() if n.get("Alive") for r in n.get("Resources", {})
                        if ":" in r and not r.startswith("node:")})
        raise HwnasError(
            f"executor=ray: no live node of the Ray cluster at {address} offers resource {resource!r} "
            f"(device resources there: {', '.join(known) or 'none'}); on the device run "
            f"ray start --address=<head> --resources='{{\"{resource}\": 1}}'")
    many = [n for n in holders if float(n["Resources"][resource]) != 1]
    if many:
        raise HwnasError(
            f"executor=ray: the node at {many[0].get('NodeManagerAddress')} declares {resource}="
            f"{many[0]['Resources'][resource]:g}; a device declares exactly 1, so that two measurements never "
            "share it")


def _host_port(address: str) -> tuple[str, int]:
    text = address.split("://", 1)[-1]
    host, _, port = text.rpartition(":")
    if not host:
        return text, 10001 if address.startswith("ray://") else 6379
    try:
        return host, int(port)
    except ValueError:
        raise HwnasError(f"ray_address={address!r} is not host:port, ray://host:port or auto") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
