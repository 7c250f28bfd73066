"""The options of every command: type, default, help and range, in one place (the YAML files hold only
their defaults lists and Hydra settings). Registered with Hydra's ConfigStore as `<command>_schema`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

from hwnas.config.fields import NUMBERS, extend, group, option

# Checked against hwnas.measure, hwnas.core.strategy and the monotonicity command by tests/hwnas/config.
BACKENDS = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
CLOCKS = ("auto", "wall", "thread_cpu")
RUNTIMES = ("torch", "onnxruntime", "openvino")
GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")
EXECUTORS = ("local", "ray")
OBJECTIVES = ("constrained", "pareto")
# constraint_confidence when not set: the plain rule, or with measure-and-refit an optimistic search (P(latency <=
# budget) >= 0.2: near-budget architectures the oracle over-predicts get evaluated; the pick is measured, docs/refine.md)
PLAIN_CONFIDENCE, REFINE_CONFIDENCE = 0.5, 0.2


@dataclass
class MeasurementOptions:
    """Measurement settings (recorded with every measurement; one local device = one set of them)."""

    backend: str = option("auto", "where the network runs (auto picks cuda when torch sees a GPU; on a Ray node "
                                  "with executor=ray, resolved there)", choices=BACKENDS,
                          label="measurement backend", elsewhere={"ray": "executor=ray (with device_resource=...)"})
    threads: int = option(1, "CPU intra-op threads", ge=1)
    batch_size: int = option(1, "inference batch size when timing", ge=1)
    dtype: str = option("float32", "tensor type of weights and input", choices=DTYPES, label="measurement dtype")
    channels_last: bool = option(False, "channels-last (NHWC) memory format")
    warmup: int = option(3, "untimed runs before timing", ge=0)
    min_repeats: int = option(10, "timed runs at least", ge=1)
    max_repeats: int = option(200, "timed runs at most", ge=1)
    check_every: int = option(5, "timed runs between two checks of the median", ge=1)
    rel_tolerance: float = option(0.02, "stop when the median moves by less than this (relative) between checks",
                                  gt=0)
    time_cap_s: float = option(2.0, "...or after this many seconds per architecture", gt=0)
    clock: str = option("auto", "wall: latency; thread_cpu: CPU time of the timing thread (steadier on a busy "
                                "machine, needs threads=1); auto: the device's clock if it has measurements, "
                                "else thread_cpu with threads=1, else wall", choices=CLOCKS,
                        label="measurement clock")
    runtime: str = option("torch", "what runs the network: torch (eager, on `backend`), onnxruntime (the "
                                   "exported ONNX model, CPU execution provider, `threads` intra-op threads) or "
                                   "openvino (the exported model compiled for the CPU, `threads` threads)",
                          choices=RUNTIMES, label="measurement runtime")
    graph_optimization: str = option("all", "ONNX Runtime graph optimisation level (runtime=onnxruntime only)",
                                     choices=GRAPH_OPTIMIZATIONS)
    executor: str = option("local", "where build + timing run: local (this process) or ray (a Ray worker on the "
                                    "cluster node holding device_resource, one measurement at a time; docs/remote.md)",
                           choices=EXECUTORS, label="measurement executor")
    device_resource: Optional[str] = option(None, "executor=ray: the device node's Ray custom resource, e.g. "
                                                  "device:jetson (declared = 1 by `ray start --resources`)")
    ray_address: str = option("auto", "executor=ray: the cluster to join: auto (the `ray start` on this machine) "
                                      "or the head's host:port")
    remote_timeout_s: float = option(600.0, "executor=ray: seconds to wait for one remote measurement (a lost "
                                            "node's measurement is retried when it returns within them)", gt=0)


def _seed(help: str = "random seed: same seed, same result") -> Any:
    return option(0, help, ge=0)


def _threads() -> Any:
    return option(1, "torch CPU threads for this command's own work (GP fits, HELP meta-training); 1 keeps a "
                     "shared CPU from being oversubscribed (docs/strategies.md)", ge=1)


def _max_stale_trials() -> Any:
    return option(1000, "stop after this many asks in a row that bring no new architecture", ge=1)


def _confidence() -> Any:
    return option(None, "chance constraint: feasible when P(latency <= budget_ms) >= this under the oracle's "
                        "predictive distribution (0.5: the predicted latency itself; otherwise needs predict_std_ms; "
                        "< 0.5, optimistic, only with refine=true, whose pick is measured). null: 0.5, or "
                        f"{REFINE_CONFIDENCE} with refine=true (docs/refine.md)", gt=0)


def _refine(default: bool = False) -> Any:
    return option(default, "measure-and-refit: every refine_every evaluations measure refine_batch promising "
                           "architectures on the target, refit the oracle on all measurements, re-predict; "
                           "verify the pick (an adapting oracle only; docs/refine.md)")


def _refine_every() -> Any:
    return option(50, "refine: evaluations between two refits (k)", ge=1)


def _refine_batch() -> Any:
    return option(5, "refine: architectures measured per refit (m); as many are kept for verify", ge=1)


def _refine_max_measurements() -> Any:
    return option(40, "refine: cap on target measurements over adapt + refine + verify", ge=1)


def _screen() -> Any:
    return option(True, "skip accuracy evaluation of architectures the oracle puts over budget_ms "
                        "(objective=constrained only)")


def _progress() -> Any:
    return option(True, "show a progress bar")


def _seconds_per_measurement() -> Any:
    return option(1.0, "cost model: seconds per target-device measurement of a tabled device", ge=0)


@dataclass
class SearchConfig:
    """hwnas search: maximise accuracy subject to latency_ms <= budget_ms on `device`."""

    space: Any = group("search space")
    strategy: Any = group("search strategy")
    oracle: Any = group("latency oracle")
    evaluator: Any = group("accuracy source (default: the one named like the space)")
    device: str = option("pixel3", "target device: a device of the space's data, or local-* (this machine)")
    budget_ms: float = option(6.5, "latency budget: the search keeps latency_ms <= budget_ms", gt=0)
    budget_quantile: Optional[float] = option(None, "a budget relative to the device: its q-th latency quantile "
                                                    "over its measured architectures (0 < q <= 1; replaces "
                                                    "budget_ms, which the summary records resolved)", gt=0)
    max_evals: int = option(500, "distinct architectures evaluated", ge=1)
    constraint_confidence: Optional[float] = _confidence()
    screen: bool = _screen()
    refine: bool = _refine()
    refine_every: int = _refine_every()
    refine_batch: int = _refine_batch()
    refine_max_measurements: int = _refine_max_measurements()
    batch_size: int = option(1, "architectures per ask/tell", ge=1)
    seed: int = _seed()
    samples: int = option(10, "target-device measurements an adapting oracle may take", ge=0)
    restrict_to_table: bool = option(False, "search only architectures the device's table covers")
    seconds_per_measurement: float = _seconds_per_measurement()
    max_stale_trials: int = _max_stale_trials()
    progress: bool = _progress()
    threads: int = _threads()
    objective: str = option("constrained", "constrained: best accuracy under budget_ms; pareto: accuracy-latency "
                                           "front", choices=OBJECTIVES)
    budgets_ms: Any = option(None, "budgets answered from the front (null: budget_ms, or with objective=pareto "
                                   "the 10/25/50/75/90th latency percentiles)", gt=0, kind=NUMBERS)
    resume: bool = option(False, "continue the interrupted run in hydra.run.dir (same config required)")


@dataclass
class PredictConfig:
    """hwnas predict: one oracle's latency prediction for every architecture of the space's data set."""

    space: Any = group("search space")
    oracle: Any = group("latency oracle")
    device: str = option("pixel3", "device whose latencies are predicted (a device of the space's data)")
    samples: int = option(10, "target-device measurements an adapting oracle may take", ge=0)
    seed: int = _seed()
    out: str = option("predictions.csv", "CSV written: index, arch, predicted_ms, measured (+ data_form)")
    restrict_to_table: bool = option(True, "a device that covers part of the space is predicted on its "
                                           "covered rows")
    seconds_per_measurement: float = _seconds_per_measurement()
    threads: int = _threads()


@dataclass
class _CalibrateOptions:
    """hwnas calibrate: measure the oracle's reference architectures on this machine, adapt, search under
    budget_ms, then verify the pick by measuring it."""

    space: Any = group("search space")
    strategy: Any = group("search strategy")
    oracle: Any = group("latency oracle (one with reference architectures)")
    evaluator: Any = group("accuracy source (default: the one named like the space)")
    meter: Any = group("what times this machine (oracle@meter; its settings are the measurement settings)")
    device: str = option("local-cpu", "a local-* name: measurements go to the local device store")
    budget_ms: float = option(10.0, "latency budget: the search keeps latency_ms <= budget_ms", gt=0)
    max_evals: int = option(500, "distinct architectures evaluated by the oracle during the search", ge=1)
    batch_size: int = option(1, "architectures per ask/tell of the search", ge=1)
    seed: int = _seed()
    samples: int = option(10, "target measurements the oracle adapts on", ge=0)
    bootstrap: bool = option(True, "an oracle that draws its probes from the device's own data gets `samples` "
                                   "seeded measurements first")
    verify_max: int = option(5, "at most this many candidates measured in the verify step", ge=1)
    reuse: bool = option(True, "reuse this machine's stored measurements (same settings) instead of re-measuring")
    max_stale_trials: int = _max_stale_trials()
    screen: bool = _screen()
    constraint_confidence: Optional[float] = _confidence()
    refine: bool = _refine(True)
    refine_every: int = _refine_every()
    refine_batch: int = _refine_batch()
    refine_max_measurements: int = _refine_max_measurements()
    restrict_to_table: bool = option(False, "search only architectures the oracle's table covers")
    progress: bool = _progress()


CalibrateConfig = extend(_CalibrateOptions, MeasurementOptions, "CalibrateConfig",
                         rename={"batch_size": "measure_batch_size"})


@dataclass
class _MeasureOptions:
    """hwnas measure: time architectures on this machine and add them to the local device store."""

    space: Any = group("search space")
    device: str = option("local-cpu", "a local-* name; one device = one set of measurement settings")
    n: int = option(100, "architectures to measure", ge=1)
    seed: int = _seed("same seed = same architectures")
    indices: Optional[List[int]] = option(None, "explicit table rows to measure instead of a random draw, "
                                                "e.g. [0,1,2]", ge=0)
    skip_measured: bool = option(False, "draw only architectures the store does not hold yet")
    out: Optional[str] = option(None, "FILE.csv: this run's measurements (index, arch, latency_ms, spread)")
    progress: bool = _progress()
    repeat_check: int = option(10, "re-measure this many of the architectures afterwards and report the rank "
                                   "agreement (Spearman) of the two passes; 0: no check", ge=0)


MeasureConfig = extend(_MeasureOptions, MeasurementOptions, "MeasureConfig")


@dataclass
class MetaTrainConfig:
    """hwnas meta-train: meta-train an adapting oracle's shared weights for a space and cache them."""

    space: Any = group("search space")
    oracle: Any = group("adapting oracle to meta-train (one with meta_train_oracle)")
    samples: int = option(10, "target measurements the oracle will adapt on (its `samples`)", ge=0)
    seed: int = _seed()
    force: bool = option(False, "retrain even when a matching cached predictor exists")
    threads: int = option(1, "torch CPU threads outside training (HELP and NASFLAT train on one thread whatever this "
                             "says, so one seed gives one model: hwnas.measure.timing.TRAINING_THREADS)", ge=1)


@dataclass
class MonotonicityConfig:
    """hwnas monotonicity: Spearman rank correlation of latency over every device pair (Lu et al. 2021)."""

    tables: Optional[List[str]] = option(None, "data sets whose devices are compared (null: every table the "
                                               "spaces declare; `hwnas monotonicity --help` cannot list them "
                                               "without loading the spaces)")
    out_dir: Optional[str] = option(None, "folder for <table>_spearman.csv and <table>_spearman.png "
                                          "(null: the run folder, beside summary.json)")
    proxy: str = option("pixel3", "device whose row is summarised (its correlation with every other device)")
    min_pairs: int = option(10, "fewer common architectures than this for a device pair is an error", ge=1)


@dataclass
class DescribeOptions:
    """hwnas describe: one architecture's forms, table row, parameters, FLOPs and (measure=true) CPU latency."""

    space: str = option("nasbench201", "search space (a choice of conf/space)")
    arch: Optional[str] = option(None, "the architecture: the space's text form or the data's JSON form")
    row: Optional[int] = option(None, "or a row of the space's data set", ge=0)
    measure: bool = option(False, "time a batch-1 forward on this CPU (hwnas.measure.timing)")
    threads: int = option(1, "CPU threads when measuring", ge=1)


@dataclass
class ImportOptions:
    """hwnas import: add your own measured latencies (a CSV) to a local device, checked row by row."""

    space: str = option("nasbench201", "search space (a choice of conf/space)")
    device: Optional[str] = option(None, "the local device to import into, local-<name> (appends when it exists)")
    file: Optional[str] = option(None, "CSV: arch or index, latency_ms, and optionally std_ms, runtime, "
                                       "batch_size, note")
    kind: Optional[str] = option(None, "what the device is (prices its measurements in the cost model), e.g. "
                                       "phone, 'edge GPU', FPGA; default: as stored, else CPU")


EXPORT_FORMATS = ("onnx", "torchscript")
EXPORT_WHAT = ("arch", "references", "candidates")


@dataclass
class ExportOptions:
    """hwnas export: an architecture, or a run folder's pick (its front for objective=pareto), as an ONNX or
    TorchScript model file with a JSON sidecar (untrained weights)."""

    space: str = option("nasbench201", "search space (a choice of conf/space); ignored with run=")
    arch: Optional[str] = option(None, "the architecture: the space's text form or the data's JSON form")
    run: Optional[str] = option(None, "or a run folder: its best pick (objective=pareto: every front member)")
    format: str = option("onnx", "model file format", choices=EXPORT_FORMATS, label="export format")
    out: str = option("export", "folder written: <name>.onnx|.pt and <name>.json per network")
    opset: int = option(17, "ONNX opset version", ge=7)
    batch_size: int = option(1, "batch dimension of the fixed input shape", ge=1)
    what: str = option("arch", "arch: arch= or run=; references: an oracle's reference architectures (oracle=, "
                               "device=) for an offline measurement job; candidates: a run's top candidates in "
                               "verify order (run=)", choices=EXPORT_WHAT, label="export kind")
    oracle: Optional[str] = option(None, "with what=references: the oracle (a choice of conf/oracle)")
    device: Optional[str] = option(None, "with what=references: the target device the oracle is built for")
    samples: int = option(10, "with what=references: target measurements the oracle adapts on", ge=1)
    seed: int = option(0, "with what=references: the seed of the oracle's draw", ge=0)
    count: int = option(5, "with what=candidates: how many of the run's candidates (verify_max)", ge=1)


# Hydra commands: conf/<name>.yaml lists `<name>_schema` first in its defaults.
COMMANDS: dict[str, type] = {
    "search": SearchConfig, "predict": PredictConfig, "calibrate": CalibrateConfig, "measure": MeasureConfig,
    "meta_train": MetaTrainConfig, "monotonicity": MonotonicityConfig,
}
# Commands that take plain key=value arguments (no Hydra).
PLAIN: dict[str, type] = {"describe": DescribeOptions, "import": ImportOptions, "export": ExportOptions}


def schema_name(command: str) -> str:
    return f"{command.replace('-', '_')}_schema"


def register() -> None:
    """Store every command's schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, schema in COMMANDS.items():
        store.store(name=schema_name(name), node=schema)
