"""The `nasflat` latency oracle: NASFLAT (Akhauri & Abdelfattah, "On Latency Predictors for Neural
Architecture Search", MLSys 2024), transferred to one device from few samples.

A graph encoder with a per-device hardware embedding is pre-trained on the source devices (cached per space,
sources, settings and data); `reference_archs()` picks the target samples by clustering architecture
encodings; `adapt()` starts the target's embedding from the best-ranking sources and fine-tunes on them. hwnas
averages `ensemble` pre-trainings (`nasflat_member.TransferredNet` each) and reads each out with a stacked ridge.
Predictions for the whole table are computed once, in one batched pass.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sys
from typing import Sequence

import numpy as np
import torch

from hwnas import data
from hwnas.analysis.conformal import RelativeConformalStd, relative_std
from hwnas.core.errors import HwnasError, positive_number, true_or_false, unknown_choice, whole_number
from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch, SearchSpace
from hwnas.data import cache, devices
from hwnas.measure.timing import TRAINING_THREADS, torch_threads
from hwnas.predictors.nasflat_jobs import available_cores, run_transfers
from hwnas.predictors.nasflat_member import TransferredNet
from hwnas.predictors.nasflat_model import encode_graphs, graph_vocabulary
from hwnas.predictors.nasflat_train import (REJECT_SIDES, PretrainConfig, TransferConfig, best_source, build_net,
                                            outlier_samples, pooled_sources, pretrain, select_samples, source_mix)

MODEL_VERSION = 3               # 3: trained on TRAINING_THREADS (earlier entries depend on the caller's threads)
FORMAT_VERSION = 1
# The target embedding's start: hwnas's pool of sources tied with the best, the paper's single best, all sources
TRANSFER_INITS = ("pooled", "best_source", "mean")
# hwnas's stacked read-out, the paper's fine-tuned score alone, and the mean log ms of the two
READOUTS = ("stacked", "finetune", "blend")
# how the target samples are picked: NASFLAT's k-means + cosine-distinct picks, or its k-means half plus greedy
# D-optimal (stop 31) or I-optimal (stop 32) picks over the read-out's inputs known before measuring (hwnas;
# docs/nasflat_studies.md "D-optimal target samples", "I-optimal target samples")
SAMPLERS = ("kmeans_cosine", "kmeans_doptimal", "kmeans_ioptimal")
# (readout, source_mix) and sampler where the settings are null: chosen per space on validation transfers that share
# no target with the paper's test tasks, which may only veto (experiments/nasflat_validation.py; docs/nasflat_studies.md
# "Validation", "I-optimal target samples"); other spaces: DEFAULT_READOUT, DEFAULT_SAMPLER. On FBNet the stop-29
# rule picked blend + mix, which the paper's tasks contradicted; the stop-32 rule picked the I-optimal pair.
SPACE_READOUTS = {"nasbench201": ("blend", True), "fbnet": ("stacked", True)}
DEFAULT_READOUT = ("stacked", False)
SPACE_SAMPLERS = {"fbnet": "kmeans_ioptimal"}
DEFAULT_SAMPLER = "kmeans_cosine"
BAGS = 50                       # bootstrap fits of a bagged read-out, as measured (docs/nasflat_studies.md "Bagging the read-out")
OWNER = "oracle nasflat"
MIN_SAMPLES = 3                 # fewer target samples cannot both pick a source and fine-tune a ranking
TASKS_FILE = "nasflat/tasks.json"
TASK_SPACES = {"nasbench201": "nb201", "fbnet": "fbnet"}
# Architectures per source device in the paper's pre-training (its run commands).
PAPER_SOURCE_ROWS = {"nasbench201": 512, "fbnet": 800}


def _log(message: str) -> None:
    print(f"[nasflat] {message}", file=sys.stderr, flush=True)


def load_tasks() -> dict:
    """The paper's transfer tasks (`nasflat/tasks.json` of the data folder)."""
    return data.read_json(TASKS_FILE)


def task_sources(space_name: str, task: int) -> tuple[str, ...]:
    """The train (source) devices of task `task` of the paper for the space, by hwnas's device names."""
    key = TASK_SPACES.get(space_name)
    if key is None:
        raise HwnasError(f"oracle nasflat: the paper's tasks cover spaces {', '.join(TASK_SPACES)}, not "
                         f"{space_name!r}; give oracle.sources=[...] instead of oracle.task")
    tasks = load_tasks()
    table = tasks.get(key, {})
    if str(task) not in table:
        raise HwnasError(f"oracle nasflat: task {task} out of range for {space_name}; valid: "
                         f"{', '.join(sorted(table, key=int))}")
    alias = tasks.get("eagle_alias_inferred", {})
    return tuple(alias.get(d, d) for d in table[str(task)]["train"])


def resolve_sources(space: SearchSpace, device: str, task: int | None, sources) -> tuple[str, ...]:
    """The source devices: `sources`, or task `task`'s train devices, or (neither) task 0's without the
    target. Every one must have a full table here; the target must not be one of them."""
    if task is not None and sources is not None:
        raise HwnasError("oracle nasflat: give oracle.task or oracle.sources, not both")
    if sources is not None:
        if isinstance(sources, str) or not len(sources):
            raise HwnasError(f"oracle nasflat: sources must be a non-empty list of devices, got {sources!r}")
        names = tuple(str(s) for s in sources)
    else:
        names = task_sources(space.name, 0 if task is None else int(task))
        if task is None:
            names = tuple(n for n in names if n != device)   # the default set never trains on its target
    if len(set(names)) != len(names):
        raise HwnasError(f"oracle nasflat: a source device is listed twice in {list(names)}")
    known = devices.tables(space.name)
    for name in names:
        if name not in known:
            raise unknown_choice(f"source device for space {space.name} (oracle nasflat)", name, known)
        covered = int(np.isfinite(known[name].latency_ms).sum())
        if covered < len(known[name].latency_ms):
            raise HwnasError(f"oracle nasflat: source device {name} is measured on {covered} of "
                             f"{len(known[name].latency_ms)} {space.name} architectures; a source needs all")
    if device in names:
        raise HwnasError(f"oracle nasflat: target device {device} is also a source; a source's latencies "
                         "would leak into its own prediction")
    return names


def resolve_readout(space_name: str, readout: str | None, source_mix: bool | None) -> tuple[str, bool | None]:
    """(readout, source_mix): each as given, or where null the space's validated choice (`SPACE_READOUTS`); a
    null source_mix is off under the paper's read-out, which has no inputs to mix into."""
    chosen_readout, chosen_mix = SPACE_READOUTS.get(space_name, DEFAULT_READOUT)
    readout = chosen_readout if readout is None else readout
    if source_mix is None:
        source_mix = chosen_mix and readout != "finetune"
    return readout, source_mix


# ------------------------------------------------------------------ the pre-training cache
def cache_key(space: SearchSpace, sources: Sequence[str], cfg: PretrainConfig) -> dict:
    """The key of NASFLAT pre-trained on `space` from `sources` with `cfg`: code, settings and a hash of
    the source latencies it reads."""
    from hwnas.core.version import __version__

    digest = hashlib.sha256()
    for name in sources:
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(devices.latency_ms(space.name, name), dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(space.table_archs(), dtype=np.int64).tobytes())
    return {"format": FORMAT_VERSION, "code": f"nasflat-{MODEL_VERSION}/hwnas-{__version__}", "space": space.name,
            "sources": list(sources), "config": cfg.to_dict(), "data": digest.hexdigest()[:20]}


def cache_path(key: dict):
    return cache.keyed_path("nasflat", key)


def load_cached(key: dict) -> dict | None:
    """The cached pre-training for `key`; None if absent; HwnasError if present but unusable."""
    return cache.load_keyed(cache_path(key), key, "NASFLAT cache", "delete it")


def ensure_pretrained(space: SearchSpace, sources: Sequence[str], cfg: PretrainConfig, graphs=None, *,
                      train_if_missing: bool = True, log=_log) -> dict:
    """The cached pre-training for (space, sources, cfg, data), training and caching it when missing."""
    cache.check_folder(cache.cache_dir(), "the cache folder")
    key = cache_key(space, sources, cfg)
    entry = load_cached(key)
    if entry is not None:
        return entry
    if not train_if_missing:
        raise HwnasError(f"no pre-trained NASFLAT for {space.name} from {len(sources)} sources with this "
                         f"configuration in {cache.cache_dir() / 'nasflat'}; set oracle.train_if_missing=true")
    cache.writable_folder(cache.cache_dir() / "nasflat", "NASFLAT cache folder")
    graphs = encode_graphs(space, space.table_archs()) if graphs is None else graphs
    latency = np.stack([devices.latency_ms(space.name, s) for s in sources])
    log(f"pre-training NASFLAT on {space.name} from {len(sources)} source devices x {cfg.source_rows} archs "
        f"({cfg.epochs} epochs); cached in {cache.cache_dir() / 'nasflat'}")
    with torch_threads(TRAINING_THREADS):
        entry = pretrain(graphs, latency, len(graph_vocabulary(space)), cfg, log=log)
    cache.save_keyed(cache_path(key), key, entry)
    log(f"pre-training took {entry['seconds']:.0f} s")
    return entry


@functools.lru_cache(maxsize=None)
def _operator_flops(space_name: str, space) -> np.ndarray:
    from hwnas.measure.model_stats import flop_count

    with torch.random.fork_rng():      # building the operators draws their weights; the caller's generator stays put
        return np.array([flop_count(space.build_operator(spec), spec.input_shape) for spec in space.operators()],
                        dtype=float)


def operator_flops(space) -> np.ndarray | None:
    """FLOPs of each of the space's distinct operators (hwnas.measure.model_stats, a zero-cost proxy hwnas
    computes itself), when the space is a chain of operators (FBNet: `operators`/`operator_index`); else None."""
    if not all(hasattr(space, a) for a in ("operators", "operator_index", "build_operator")):
        return None
    return _operator_flops(space.name, space)


def reference_rows(space: SearchSpace, device: str, samples: int, seed: int,
                   design: np.ndarray | None = None, criterion: str = "doptimal") -> np.ndarray:
    """Table rows of NASFLAT's `samples` target samples on `device`: k-means and cosine-distinct picks over the
    one-hot encodings of the architectures it has measured (`select_samples`, seeded); with `design` (table rows x
    inputs) the second half is optimal-design picks over it instead (`criterion`: doptimal, ioptimal)."""
    try:
        candidates = devices.coverage(space.name, device)
    except HwnasError:                      # a device without a table: any table row
        candidates = np.arange(len(space.table_archs()))
    if len(candidates) < samples:
        raise HwnasError(f"oracle nasflat: samples={samples} exceeds the {len(candidates)} "
                         f"architectures measured on {device}")
    onehot = space.encode(np.asarray(space.table_archs())[candidates], "onehot")
    return candidates[select_samples(onehot, samples, seed, None if design is None else design[candidates],
                                     criterion)]


class NasflatOracle(RelativeConformalStd, LatencyOracle):
    """NASFLAT pre-trained on source devices, transferred to `device` with `samples` measurements; with
    `ensemble` > 1, the mean log ms of that many pre-trainings (seeds `pretrain_seed` onwards), each transferred."""

    name = "nasflat"

    def __init__(self, space: SearchSpace, device: str, samples: int = 20, seed: int = 0, task: int | None = None,
                 sources: Sequence[str] | None = None, train_if_missing: bool = True, source_rows: int | None = None,
                 epochs: int = 30, lr: float = 1e-3, batch_size: int = 128, hidden: int = 64, flow_dim: int = 64,
                 pretrain_seed: int = 0, supplementary: bool = True, transfer_epochs: int = TransferConfig.epochs,
                 transfer_lr: float = TransferConfig.lr,
                 transfer_init: str = "pooled", readout: str | None = None, source_input: bool = False,
                 transfer_embedding_epochs: int = 30, ensemble: int = 3, source_mix: bool | None = None,
                 readout_bags: int = 0, sampler: str | None = None, reject_outliers: bool = False,
                 reject_side: str = "both", reject_per: int = 10, transfer_workers: int | None = None):
        super().__init__(space, device)
        if len(space.table_archs()) == 0:
            raise HwnasError(f"oracle nasflat needs a space with measured latency tables; {space.name!r} has none")
        devices.require_device(space.name, device)
        samples = whole_number(OWNER, "samples", samples)
        if samples < MIN_SAMPLES:
            raise HwnasError(f"oracle nasflat needs at least {MIN_SAMPLES} target samples; got samples={samples}")
        if transfer_init not in TRANSFER_INITS:
            raise HwnasError(f"oracle nasflat: transfer_init must be one of {', '.join(TRANSFER_INITS)}, "
                             f"got {transfer_init!r}")
        sampler = SPACE_SAMPLERS.get(space.name, DEFAULT_SAMPLER) if sampler is None else sampler
        if sampler not in SAMPLERS:
            raise HwnasError(f"oracle nasflat: sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
        if reject_side not in REJECT_SIDES:
            raise HwnasError(f"oracle nasflat: reject_side must be one of {', '.join(REJECT_SIDES)}, got {reject_side!r}")
        readout, source_mix = resolve_readout(space.name, readout, source_mix)
        if readout not in READOUTS:
            raise HwnasError(f"oracle nasflat: readout must be one of {', '.join(READOUTS)}, got {readout!r}")
        ensemble = whole_number(OWNER, "ensemble", ensemble, 1, " of pre-trainings")
        readout_bags = whole_number(OWNER, "readout_bags", readout_bags, 0)
        reject_per = whole_number(OWNER, "reject_per", reject_per, 1)
        # the transfers' processes: the same networks to the bit for any number (`nasflat_jobs`)
        self.transfer_workers = (available_cores() if transfer_workers is None
                                 else whole_number(OWNER, "transfer_workers", transfer_workers, 1))
        # batches and source rows need a pair at least: the ranking loss compares two architectures
        for key, value, minimum in (("seed", seed, 0), ("pretrain_seed", pretrain_seed, 0), ("epochs", epochs, 1),
                                    ("batch_size", batch_size, 2), ("hidden", hidden, 1), ("flow_dim", flow_dim, 1),
                                    ("transfer_epochs", transfer_epochs, 0),
                                    ("transfer_embedding_epochs", transfer_embedding_epochs, 0),
                                    ("source_rows", 2 if source_rows is None else source_rows, 2)):
            whole_number(OWNER, key, value, minimum)
        lr, transfer_lr = positive_number(OWNER, "lr", lr), positive_number(OWNER, "transfer_lr", transfer_lr)
        switches = {"source_mix": source_mix, "source_input": source_input, "supplementary": supplementary,
                    "train_if_missing": train_if_missing, "reject_outliers": reject_outliers}
        for key, value in switches.items():
            true_or_false(OWNER, key, value)
        for key in ("source_mix", "source_input"):
            if switches[key] and readout == "finetune":
                raise HwnasError(f"oracle nasflat: {key}=true is an input of the stacked read-out; it needs readout "
                                 "stacked or blend, got readout=finetune")
        self.samples, self.seed, self.transfer_init, self.readout = int(samples), int(seed), transfer_init, readout
        self.source_input, self.source_mix, self.readout_bags = bool(source_input), bool(source_mix), readout_bags
        self.sampler, self.reject_outliers = sampler, bool(reject_outliers)
        self.reject_side, self.reject_per = reject_side, reject_per
        # `reject_outliers`: adapt() leaves out samples the sources cannot explain (`outlier_samples`), an option: its
        # rule failed on FBNet's validation transfers (docs/nasflat_studies.md "Leaving out samples the sources cannot explain")
        self.rejected: list[Arch] = []          # the samples the last adapt() left out
        self.sources = resolve_sources(space, device, task,
                                       sources if sources is None or isinstance(sources, str) else list(sources))
        rows = PAPER_SOURCE_ROWS.get(space.name, 800) if source_rows is None else int(source_rows)
        self.pretrain_cfg = PretrainConfig(source_rows=rows, epochs=int(epochs), lr=float(lr),
                                           batch_size=int(batch_size), hidden=int(hidden), flow_dim=int(flow_dim),
                                           supplementary=bool(supplementary), seed=int(pretrain_seed))
        # the paper's FBNet fine-tuning on every space (its NB201 one, 1e-4 x 20 epochs, barely moves the network)
        self.transfer_cfg = TransferConfig(epochs=int(transfer_epochs), lr=float(transfer_lr), seed=self.seed,
                                           embedding_epochs=int(transfer_embedding_epochs))
        self.graphs = encode_graphs(space, space.table_archs())
        self.entries = [ensure_pretrained(space, self.sources, dataclasses.replace(self.pretrain_cfg, seed=s),
                                          self.graphs, train_if_missing=train_if_missing)
                        for s in range(self.pretrain_cfg.seed, self.pretrain_cfg.seed + int(ensemble))]
        # every source's measured ms on every table row (sources x rows), stacked once for all members and folds
        self._source_table_ms = np.stack([devices.latency_ms(space.name, s) for s in self.sources])
        self._source_log_ms = np.log(self._source_table_ms).T       # table rows x sources
        self.members = [TransferredNet(self._load(entry), entry, space, self.sources, self.transfer_cfg, readout,
                                       self.source_input, self._supplement, self._choose_sources, self.graphs,
                                       self._source_log_ms, readout_bags)
                        for entry in self.entries]
        self.entry, self.net = self.entries[0], self.members[0].net    # the first pre-training (experiments, tests)
        self._references: list[Arch] | None = None
        self._table_ms: np.ndarray | None = None
        self.chosen_source: str | None = None
        self.chosen_sources: list[str] = []

    def _load(self, entry: dict):
        net = build_net(len(graph_vocabulary(self.space)), self.graphs.tokens.shape[1], len(self.sources),
                        self.pretrain_cfg)
        net.load_state_dict(entry["state"])
        net.eval()
        return net

    # ------------------------------------------------------------------ the target samples
    def reference_archs(self) -> list[Arch]:
        """`samples` table architectures the device has measured, chosen by k-means and cosine-distinct
        picks over their one-hot encodings (seeded; `reference_rows`), or D- or I-optimal ones (`sampler`)."""
        if self._references is None:
            design = None if self.sampler == "kmeans_cosine" else self.sample_design()
            criterion = self.sampler.split("_", 1)[1]
            archs = np.asarray(self.space.table_archs())[reference_rows(self.space, self.device, self.samples,
                                                                         self.seed, design, criterion)]
            self._references = [tuple(int(v) for v in arch) for arch in archs]
        return list(self._references)

    def sample_design(self) -> np.ndarray:
        """Per table row, the read-out's inputs known before the target is measured: every source's measured
        log ms (what the pre-trained scores and the source mix stand on) and the zero-cost inputs (`_supplement`)."""
        table = np.asarray(self.space.table_archs())
        return np.column_stack([self._source_log_ms, self._supplement(self.graphs, table)])

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        matrix = self.space.checked_matrix(archs)
        latency_ms = np.asarray(latency_ms, dtype=np.float64).reshape(-1)
        if len(matrix) != len(latency_ms):
            raise HwnasError(f"oracle nasflat: {len(matrix)} architectures but {len(latency_ms)} latencies")
        if len(matrix) < MIN_SAMPLES:
            raise HwnasError(f"oracle nasflat needs at least {MIN_SAMPLES} measured target samples; got {len(matrix)}")
        if not (np.isfinite(latency_ms).all() and (latency_ms > 0).all()):
            raise HwnasError(f"oracle nasflat: non-finite or non-positive latency measured on {self.device}")
        rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
        drop = self.outliers(rows, latency_ms) if self.reject_outliers else np.zeros(0, dtype=np.int64)
        self.rejected = [tuple(int(v) for v in matrix[i]) for i in drop]
        if drop.size:
            _log(f"left out {drop.size} of {len(rows)} samples the sources cannot explain: "
                 + ", ".join(f"{latency_ms[i]:.3g} ms" for i in drop))
            keep = np.setdiff1d(np.arange(len(rows)), drop)
            matrix, latency_ms, rows = matrix[keep], latency_ms[keep], rows[keep]
        graphs = encode_graphs(self.space, matrix)
        init, fit = self._choose_sources(rows, latency_ms)   # source rows the target's embedding starts from
        if init is not None:
            self.source_fit = fit
            self.chosen_sources = [self.sources[i] for i in init]
            self.chosen_source = self.chosen_sources[0]
        source_ranks = init is not None and fit[init[0]] > 0
        self._relative_std = None
        self._held_out_ms = latency_ms
        mix = self._source_mix(rows, latency_ms)
        with torch_threads(TRAINING_THREADS):
            jobs = [m.transfer_jobs(graphs, rows, latency_ms, init) for m in self.members]
            tuned = iter(run_transfers([job for member_jobs in jobs for job in member_jobs], self.transfer_workers))
            table_log_ms = [m.adapt(graphs, matrix, rows, latency_ms, init, source_ranks, mix,
                                    tuned=[next(tuned) for _ in member_jobs])
                            for m, member_jobs in zip(self.members, jobs)]
        self.readout_inputs = self.members[0].readout_inputs       # kept for diagnosis (experiments/)
        self._table_features = self.members[0].table_features
        self._table_ms = np.exp(np.mean(table_log_ms, axis=0))

    def outliers(self, rows: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
        """Indices of the samples (`rows`: their table rows) the sources cannot explain (`outlier_samples`, seeded by
        the transfer); none when a sample is off the table the sources measured."""
        if (rows < 0).any():
            return np.zeros(0, dtype=np.int64)
        return outlier_samples(self._source_log_ms[rows], np.log(latency_ms), self.transfer_cfg.seed,
                               per=self.reject_per, side=self.reject_side)

    def _choose_sources(self, rows: np.ndarray, latency_ms: np.ndarray):
        """(source rows the target's embedding starts from, every source's fit to the samples) by
        `transfer_init`; (None, None) for the sources' mean or when fewer than 2 samples are tabled."""
        tabled = rows >= 0
        if self.transfer_init == "mean" or tabled.sum() < 2:
            return None, None
        source_ms = self._source_table_ms[:, rows[tabled]]
        if self.transfer_init == "pooled":
            return pooled_sources(source_ms, latency_ms[tabled])
        best, fit = best_source(source_ms, latency_ms[tabled])
        return np.array([best]), fit

    def _source_mix(self, rows: np.ndarray, latency_ms: np.ndarray):
        """`source_mix` (stacked and blend read-outs): the samples' out-of-fold mix of the source devices' log ms and
        the mix (`nasflat_train.source_mix`); None when off or a sample is off the table (the sources have not
        measured it)."""
        if not self.source_mix:
            return None
        if (rows < 0).any():
            _log(f"source_mix skipped: {int((rows < 0).sum())} samples are not in the {self.space.name} table the "
                 "sources measured")
            return None
        return source_mix(self._source_log_ms[rows], np.log(latency_ms), self.transfer_cfg.seed)

    def _supplement(self, graphs, matrix) -> np.ndarray:
        """The network's supplementary encoding plus log FLOPs where the space adds up from operators."""
        extra = graphs.extra.numpy()
        if not self.pretrain_cfg.supplementary:
            return extra[:, :0]
        per_op = operator_flops(self.space)
        if per_op is None:
            return extra
        return np.column_stack([extra, np.log(per_op[self.space.operator_index(matrix)].sum(1))])

    def _forward_ms(self, graphs, matrix) -> np.ndarray:
        with torch_threads(TRAINING_THREADS):
            return np.exp(np.mean([m.forward_log_ms(graphs, matrix) for m in self.members], axis=0))

    def paper_readout_ms(self) -> np.ndarray:
        """Every table row's prediction from the fine-tuned score alone (the paper's read-out), for comparison."""
        return np.exp(np.mean([m.paper_log_ms() for m in self.members], axis=0))

    def table_ms_without_mix(self) -> np.ndarray:
        """Every table row's prediction from the same transfers read out without the source mix, for comparison
        (without `source_mix`: the predictions themselves)."""
        return self.table_ms_refit(mix=False)

    def table_ms_refit(self, mix: bool = True, bags: int | None = None) -> np.ndarray:
        """Every table row's prediction from the same transfers, the read-out refitted with or without the source
        mix and with `bags` bootstrap fits (None: `readout_bags`), for comparison (`TransferredNet.refit_log_ms`)."""
        if self._table_ms is None:
            raise HwnasError("oracle nasflat must adapt() to the target device's sample measurements first")
        return np.exp(np.mean([m.refit_log_ms(mix, bags) for m in self.members], axis=0))

    # ------------------------------------------------------------------ prediction
    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        if self._table_ms is None:
            raise HwnasError("oracle nasflat must adapt() to the target device's sample measurements first")
        matrix = self.space.checked_matrix(archs)
        if len(matrix) == 0:
            return np.zeros(0)
        rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
        out = np.where(rows >= 0, self._table_ms[np.maximum(rows, 0)], np.nan)
        untabled = np.flatnonzero(rows < 0)
        if untabled.size:
            out[untabled] = self._forward_ms(encode_graphs(self.space, matrix[untabled]), matrix[untabled])
        return out

    def _conformal_scale(self) -> float:
        """Jackknife (Barber et al. 2021) over the read-out: each sample predicted by the members' read-outs
        fitted without it (`TransferredNet.held_out_log_ms`), averaged like the prediction; the conformal scale of
        those relative errors. Computed on first use (the paper's read-out costs k extra fine-tunings here)."""
        if self._relative_std is None:
            with torch_threads(TRAINING_THREADS):
                held_out_log_ms = np.mean([m.held_out_log_ms() for m in self.members], axis=0)
            self._relative_std = relative_std(np.exp(held_out_log_ms), self._held_out_ms)
        return self._relative_std

    def predict_uncached_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """The full batched forward pass, bypassing the table computed at adaptation (timing)."""
        if self._table_ms is None:
            raise HwnasError("oracle nasflat must adapt() to the target device's sample measurements first")
        matrix = self.space.checked_matrix(archs)
        return self._forward_ms(encode_graphs(self.space, matrix), matrix)

    def setup_cost(self) -> SetupCost:
        """The pre-trainings as shared set-up: their seconds, and each (source, architecture) measured once."""
        rows = set().union(*(entry["rows"] for entry in self.entries))
        return SetupCost(shared_measurements=len(rows) * len(self.sources),
                         shared_seconds=float(sum(entry["seconds"] for entry in self.entries)))


def settings(oracle: NasflatOracle) -> dict:
    """The oracle's resolved settings (for reports)."""
    return {"sources": list(oracle.sources), "readout": oracle.readout, "source_mix": oracle.source_mix,
            "readout_bags": oracle.readout_bags, "sampler": oracle.sampler, "reject_outliers": oracle.reject_outliers,
            "reject_side": oracle.reject_side, "reject_per": oracle.reject_per,
            "pretrain": oracle.pretrain_cfg.to_dict(), "ensemble": len(oracle.members),
            "transfer": dataclasses.asdict(oracle.transfer_cfg)}
