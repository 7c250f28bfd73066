"""Measure architectures on this machine, or on a Ray node (`executor=ray`), and add them to the local device
store (`device=local-cpu`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.data import device_store
from hwnas.config import instantiate
from hwnas.core.errors import HwnasError
from hwnas.measure.backend import ArchMeasurement, BackendSettings, measure_archs, open_meter
from hwnas.core.space import Arch, SearchSpace

CONFIG_NAME = "measure"
OUT_COLUMNS = ("index", "arch", "latency_ms", "spread_ms", "rel_spread", "min_ms", "repeats", "stable", "status", "note")


def settings_from(cfg, batch_size_key: str = "batch_size", store: tuple[str, str] | None = None) -> BackendSettings:
    """The measurement settings given as top-level keys of a command's config (`calibrate` names the
    measured batch size `measure_batch_size`: its `batch_size` is the search's ask size). `clock=auto`
    keeps the clock of the device's stored measurements (`store`: space and device), so a store goes on."""
    values = {key: cfg[key] for key in BackendSettings.__dataclass_fields__ if key != "batch_size"}
    if values.get("clock") == "auto" and store is not None:
        values["clock"] = device_store.auto_clock(*store, values["threads"])
    return BackendSettings(**values, batch_size=cfg[batch_size_key]).resolved()


def choose_archs(space: SearchSpace, n: int, seed: int, indices=None, exclude_rows=()) -> list[Arch]:
    """`indices` (table rows) if given; else `n` distinct table rows drawn with `seed` (a sample where untabled)."""
    if indices is not None:
        return _from_rows(space, [int(i) for i in indices])
    if n < 1:
        raise HwnasError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    try:
        table = np.asarray(space.table_archs())
    except HwnasError:
        return space.sample(rng, n)
    pool = np.setdiff1d(np.arange(len(table)), np.asarray(list(exclude_rows), dtype=np.int64))
    if n > len(pool):
        raise HwnasError(f"n={n} but only {len(pool)} architectures of {space.name}'s table are left to measure")
    return _from_rows(space, rng.choice(pool, size=n, replace=False))


def _from_rows(space: SearchSpace, rows) -> list[Arch]:
    table = np.asarray(space.table_archs())
    bad = [r for r in rows if not 0 <= r < len(table)]
    if bad:
        raise HwnasError(f"table row {bad[0]} out of range 0..{len(table) - 1} for {space.name}")
    return [tuple(int(v) for v in table[r]) for r in rows]


def measure_into_store(space: SearchSpace, device: str, archs: list[Arch], settings: BackendSettings,
                       progress: bool = False, meter=None):
    """Measure `archs`, appending each to the store as it finishes (so Ctrl-C loses nothing measured)."""
    own = meter is None
    meter = open_meter(space, settings) if own else meter
    try:
        device_store.check_settings(space.name, device, meter.device_settings())
        return _measure(space, device, archs, settings, progress, meter)
    finally:
        if own:
            meter.close()


def _measure(space, device, archs, settings, progress, meter):
    def keep(result: ArchMeasurement) -> None:
        device_store.append(space.name, device, [result.store_row(space)])
        if bar is not None:
            bar.advance(task)

    bar = task = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        bar = Progress("measure", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
        task = bar.add_task("measure", total=len(archs))
        bar.start()
    try:
        return measure_archs(space, archs, settings, on_each=keep, meter=meter)
    finally:
        if bar is not None:
            bar.stop()


def results_frame(space: SearchSpace, results: list[ArchMeasurement]) -> pd.DataFrame:
    rows = [r.store_row(space) for r in results]
    return pd.DataFrame(rows, columns=list(device_store.COLUMNS))


def run(cfg) -> pd.DataFrame:
    space: SearchSpace = instantiate(cfg.space, "search space")
    device = device_store.check_name(str(cfg.device))
    settings = settings_from(cfg, store=(space.name, device))
    exclude = ()
    if cfg.skip_measured:
        exclude = {r["index"] for r in device_store.read(space.name, device) if r["status"] == "ok"}
    indices = list(cfg.indices) if cfg.get("indices") is not None else None
    archs = choose_archs(space, int(cfg.n), int(cfg.seed), indices, exclude)
    started = time.perf_counter()
    meter = open_meter(space, settings)
    try:
        run_ = measure_into_store(space, device, archs, settings, progress=bool(cfg.progress), meter=meter)
        measured_with = meter.device_settings()
        elapsed = time.perf_counter() - started
        check = None if run_.interrupted else repeatability(space, run_.results, settings, int(cfg.repeat_check),
                                                            int(cfg.seed), meter)
    finally:
        meter.close()
    frame = results_frame(space, run_.results)
    if cfg.get("out"):
        out = Path(str(cfg.out))
        out.parent.mkdir(parents=True, exist_ok=True)
        frame[list(OUT_COLUMNS)].to_csv(out, index=False)
    _report(space, device, measured_with, frame, len(archs), elapsed, run_.interrupted, cfg.get("out"))
    if check is not None:
        print(check)
    return frame


def repeatability(space: SearchSpace, results: list[ArchMeasurement], settings: BackendSettings, k: int,
                  seed: int, meter=None) -> str:
    """Re-measure `k` of the measured architectures (not stored) and say how well the two passes agree:
    the rank correlation a latency table built here can be trusted to (docs/measurement.md)."""
    from scipy.stats import spearmanr

    ok = [r for r in results if r.ok]
    if k < 3 or len(ok) < 3:
        return "repeatability: not checked (repeat_check=0 or fewer than 3 architectures measured)"
    chosen = [ok[i] for i in np.random.default_rng(seed).permutation(len(ok))[:k]]
    second = measure_archs(space, [r.arch for r in chosen], settings, meter=meter).results
    first_ms = np.array([r.latency_ms for r in chosen])
    second_ms = np.array([r.latency_ms for r in second])
    rho = spearmanr(first_ms, second_ms).statistic
    change = float(np.nanmedian(np.abs(second_ms - first_ms) / first_ms))
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" if hasattr(os, "getloadavg") else ""
    line = (f"repeatability: Spearman {rho:.3f} between two passes over {len(chosen)} architectures (median change "
            f"{change:.1%}; clock={settings.clock}{', ' + load if load else ''})")
    if settings.clock == "wall" and settings.backend == "cpu" and rho < 0.95:
        line += ("; the wall clock is at the mercy of other processes here: clock=thread_cpu with threads=1 "
                 "is steadier (under a new local-* device name: a device keeps one clock)")
    return line


def _report(space, device, device_settings, frame, asked, elapsed, interrupted, out) -> None:
    ok = frame[frame["status"] == "ok"]
    hosts = sorted(set(frame["host"])) if len(frame) else []
    shown = {k: v for k, v in device_settings.items() if v != ""}
    print(f"measured {len(frame)} of {asked} {space.name} architectures on {device} "
          f"({', '.join(f'{k}={v}' for k, v in shown.items())}{'; host ' + ', '.join(hosts) if hosts else ''}) "
          f"in {elapsed:.1f} s "
          f"({elapsed / max(len(frame), 1):.2f} s per architecture)")
    if len(ok):
        print(f"latency {ok['latency_ms'].min():.3f} .. {ok['latency_ms'].max():.3f} ms; noise (IQR / median): "
              f"median {ok['rel_spread'].median():.1%}, worst {ok['rel_spread'].max():.1%}; "
              f"{int((~ok['stable'].astype(bool)).sum())} not stable within rel_tolerance before the cap")
    for _, row in frame[frame["status"] != "ok"].iterrows():
        print(f"  could not measure {row['arch']}: {row['status']}")
    notes = frame[frame["note"] != ""]
    if len(notes):
        print(f"  {len(notes)} architecture(s) flagged: {notes['note'].iloc[0]} (measured anyway), "
              f"e.g. {notes['arch'].iloc[0]}")
    print(f"store: {device_store.device_file(space.name, device)} "
          f"({len(device_store.read(space.name, device))} measurements in all)")
    if out:
        print(f"this run's measurements: {out}")
    if interrupted:
        print("interrupted (Ctrl-C): everything measured before it is stored")
