"""The `help` latency oracle: HELP (Lee, Lee, Chong & Hwang, NeurIPS 2021) adapted to one device.

The meta-trained predictor comes from the cache (`hwnas meta-train space=...` writes it; the oracle
trains it itself when it is missing and `train_if_missing` is set). `reference_archs()` asks for the
space's 10 hardware-embedding reference architectures (plus `samples - 10` seeded extra ones);
`adapt()` embeds the device and runs the inner loop; `predict_ms` is one batched forward pass over the
architectures asked for (no whole-table pass at adaptation, so a refit during the search stays cheap).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import time
from typing import Sequence

import numpy as np
import torch

from hwnas.data import devices
from hwnas.analysis.conformal import COVERAGE, Z_COVERAGE, RelativeConformalStd, relative_std
from hwnas.core.errors import HwnasError, true_or_false, whole_number
from hwnas.core.oracle import LatencyOracle, SetupCost
from hwnas.core.space import Arch, SearchSpace, as_matrix
from hwnas.data.cache import atomic_write_json
from hwnas.measure.timing import TRAINING_THREADS, torch_threads
from hwnas.predictors import help_cache
from hwnas.predictors.help_meta import (HELP_SPLITS, MetaConfig, MetaLearner, SpaceData, encode, hardware_embedding,
                                  meta_train, normalise, take)

N_REFERENCE = 10
MAX_FOLDS = 10   # cross-validation folds of the conformal scale (leave-one-out up to this many measurements)


def _meta_config(space_name: str, seed_offset: int, options: dict) -> MetaConfig:
    valid = {f.name for f in dataclasses.fields(MetaConfig)}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise HwnasError(f"oracle help: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
    options = {k: tuple(str(d) for d in v) if k.endswith("_devices") and v is not None else v
               for k, v in options.items()}
    cfg = MetaConfig(**options).resolved(space_name)
    return dataclasses.replace(cfg, meta_seed=cfg.meta_seed + seed_offset)


def _log(message: str) -> None:
    print(f"[help] {message}", file=sys.stderr, flush=True)


def ensure_meta_trained(space: SearchSpace, cfg: MetaConfig, *, train_if_missing: bool = True,
                        force: bool = False, log=_log) -> dict:
    """The cached meta-trained predictor for (space, cfg), training and caching it if needed."""
    help_cache.cache_dir()  # a file there is a one-line error now, not after training
    key = help_cache.cache_key(space, cfg)
    entry = None
    if not force:
        try:
            entry = help_cache.load(key)
        except HwnasError as exc:
            if not train_if_missing:
                raise
            log(f"{exc}; retraining")
    if entry is not None:
        return entry
    if not train_if_missing:
        raise HwnasError(f"no meta-trained HELP predictor for {space.name} with this configuration in "
                         f"{help_cache.cache_dir()}; run `hwnas meta-train space={space.name}` first")
    help_cache.writable_cache()  # before minutes of training: a cache folder that cannot hold the result
    log(f"meta-training HELP for {space.name} ({cfg.episodes} episodes, seed {cfg.meta_seed}); "
        f"the result is cached in {help_cache.cache_dir()}")
    cpu = time.process_time()
    with torch_threads(TRAINING_THREADS):   # one model per seed, whatever the caller's thread setting
        result = meta_train(SpaceData(space, cfg.encoding), cfg, log=log)
    entry = {"state": result.state, "best_episode": result.best_episode,
             "best_valid_spearman": result.best_valid_spearman, "seconds": result.seconds,
             "cpu_seconds": time.process_time() - cpu, "source_measurements": result.source_measurements,
             "history": result.history}
    path = help_cache.save(key, entry)
    log(f"meta-training took {result.seconds:.0f} s; best validation Spearman {result.best_valid_spearman:.4f} "
        f"at episode {result.best_episode}; saved {path}")
    return entry


class HelpOracle(RelativeConformalStd, LatencyOracle):
    """HELP's meta-learned, hardware-embedding-conditioned predictor, adapted with few target samples.

    `ensemble` > 1 averages that many independently meta-trained predictors (meta seeds
    meta_seed..meta_seed+ensemble-1): an improvement over the paper, not part of it.
    """

    name = "help"

    def __init__(self, space: SearchSpace, device: str, samples: int = N_REFERENCE, seed: int = 0,
                 train_if_missing: bool = True, eval_steps: int | None = None, ensemble: int = 1, **meta):
        super().__init__(space, device)
        if space.name not in HELP_SPLITS:
            raise HwnasError(f"oracle help supports spaces {', '.join(HELP_SPLITS)}, not {space.name!r}")
        if whole_number("oracle help", "samples", samples) < N_REFERENCE:
            raise HwnasError(f"oracle help needs at least {N_REFERENCE} target samples (its hardware embedding is "
                             f"the latency of {N_REFERENCE} reference architectures); got samples={samples}")
        ensemble = whole_number("oracle help", "ensemble", ensemble, 1)
        true_or_false("oracle help", "train_if_missing", train_if_missing)
        self.samples, self.seed = int(samples), whole_number("oracle help", "seed", seed, 0)
        if eval_steps is not None:
            whole_number("oracle help", "eval_steps", eval_steps, 0)
        self.configs = [_meta_config(space.name, k, dict(meta)) for k in range(int(ensemble))]
        self.data = SpaceData(space, self.configs[0].encoding)
        self.eval_steps = self.configs[0].inner_steps if eval_steps is None else int(eval_steps)
        self.entries = [ensure_meta_trained(space, cfg, train_if_missing=train_if_missing) for cfg in self.configs]
        self.learners = []
        for cfg, entry in zip(self.configs, self.entries):
            learner = MetaLearner(self.data.encoder, self.data.in_features, cfg)
            learner.load_state_dict(entry["state"])
            self.learners.append(learner)
        self._adapted: list | None = None

    # ------------------------------------------------------------------ adaptation
    def reference_archs(self) -> list[Arch]:
        rows = list(self.data.reference_rows)
        extra = self.samples - N_REFERENCE
        if extra > 0:
            try:
                candidates = devices.coverage(self.space.name, self.device)
            except HwnasError:
                candidates = np.arange(len(self.data.archs))
            candidates = np.setdiff1d(candidates, rows)
            if extra > len(candidates):
                raise HwnasError(f"samples={self.samples} exceeds the {len(candidates) + N_REFERENCE} architectures "
                                 f"measured on {self.device}")
            rows += list(np.random.default_rng(self.seed).choice(candidates, extra, replace=False))
        return [tuple(int(v) for v in self.data.archs[r]) for r in rows]

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        matrix = as_matrix(archs)
        latency_ms = np.asarray(latency_ms, dtype=np.float64).reshape(-1)
        if len(matrix) != len(latency_ms):
            raise HwnasError(f"oracle help: {len(matrix)} architectures but {len(latency_ms)} latencies")
        if len(matrix) < N_REFERENCE:
            raise HwnasError(f"oracle help needs the {N_REFERENCE} reference architectures measured; got {len(matrix)}")
        if not np.isfinite(latency_ms).all():
            raise HwnasError(f"oracle help: non-finite latency measured on {self.device}")
        rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
        position = {int(r): i for i, r in enumerate(rows)}
        missing = [int(r) for r in self.data.reference_rows if int(r) not in position]
        if missing:
            raise HwnasError(f"oracle help: the measurements lack reference architecture(s) at table rows {missing}; "
                             "measure reference_archs()")
        reference_ms = latency_ms[[position[int(r)] for r in self.data.reference_rows]]
        self._reference_ms = reference_ms
        hw = torch.tensor(hardware_embedding(reference_ms), dtype=torch.float32)
        xs = encode(self.data.space, matrix, self.data.encoding)
        ys = torch.tensor(normalise(latency_ms, reference_ms), dtype=torch.float32)
        self._hw, self._xs, self._ys = hw, xs, ys
        torch.manual_seed(self.seed)
        self._adapted = []
        with torch_threads(TRAINING_THREADS):
            for learner in self.learners:
                draws = learner.cfg.mc_samples if learner.zmod is not None else 1
                for _ in range(max(1, draws)):
                    params, _ = learner.adapt(hw, xs, ys, self.eval_steps, create_graph=False,
                                              sample_z=learner.zmod is not None)
                    self._adapted.append((learner, params))
        self._measured_ms, self._relative_std = latency_ms, None

    def _conformal_scale(self) -> float:
        """The conformal scale of the leave-one-out relative errors, computed on first use (one inner loop
        per measurement and draw), with its own seeded random stream so the order of calls does not matter."""
        if self._relative_std is None:
            with torch.random.fork_rng(), torch_threads(TRAINING_THREADS):
                torch.manual_seed(self.seed)
                loo = self._leave_one_out_ms(self._xs, self._ys)
            self._relative_std = relative_std(np.maximum(loo, 1e-9), self._measured_ms) * self._inflation()
        return self._relative_std

    def _inflation(self) -> float:
        """How much larger a random architecture's error is than the references' conformal bound: the
        table's 90th-percentile relative error over that bound, median over HELP's meta-validation devices
        (never a target). The 10 references span the latency range, so their leave-one-out errors
        overstate the rest (ratio about 0.4-0.5 on NB201). Computed once per set of members, cached."""
        keys = [help_cache.cache_key(self.space, learner.cfg) for learner in self.learners]
        digest = hashlib.sha256(json.dumps({"members": keys, "eval_steps": self.eval_steps, "v": 1},
                                           sort_keys=True).encode()).hexdigest()[:20]
        path = help_cache.cache_dir() / "help" / f"{self.space.name}-inflation-{digest}.json"
        if path.is_file():
            try:
                return float(json.loads(path.read_text())["inflation"])
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: recompute and overwrite
        ratios = {}
        with torch.random.fork_rng():   # the siblings' adapt() seeds torch: leave the caller's stream alone
            for device in self.learners[0].cfg.valid_devices:
                ratio = self._validation_ratio(device)
                if ratio is not None:
                    ratios[device] = ratio
        if not ratios:
            return 1.0
        inflation = float(np.median(list(ratios.values())))
        atomic_write_json(path, {"inflation": inflation, "ratios": ratios}, indent=1)
        return inflation

    def _validation_ratio(self, device: str) -> float | None:
        """On one meta-validation device: the table's 90th-percentile relative error over the references'
        conformal bound (None when the device lacks a reference)."""
        latency = devices.latency_ms(self.space.name, device)
        rows = np.asarray(self.data.reference_rows, dtype=np.int64)
        if not np.isfinite(latency[rows]).all():
            return None
        other = copy.copy(self)
        other.device, other.seed, other._inflation = device, 0, lambda: 1.0
        other.adapt(self.data.archs[rows], latency[rows])
        held_out = np.isfinite(latency)
        held_out[rows] = False
        predicted = other._forward_ms(self.data.inputs)[held_out]
        errors = np.abs(latency[held_out] - predicted) / np.maximum(predicted, 1e-9)
        return float(np.quantile(errors, COVERAGE) / (other._conformal_scale() * Z_COVERAGE))

    def _leave_one_out_ms(self, xs, ys) -> np.ndarray:
        """Each measurement predicted by the inner loop adapted without it: leave-one-out (jackknife) up to
        MAX_FOLDS measurements, beyond that MAX_FOLDS-fold cross-validation (CV+, Barber et al. 2021), so a
        refit on 35 measurements (refine) costs 10 inner loops, not 35. The residuals the conformal scale is
        fitted on. The hardware embedding and the de-normalisation keep all the references, which HELP cannot
        do without; only the fit leaves them out."""
        n = len(ys)
        folds = min(n, MAX_FOLDS)
        loo = np.empty(n)
        for fold in range(folds):
            out = np.arange(fold, n, folds)
            keep = np.setdiff1d(np.arange(n), out)
            xs_i, ys_i, xq = take(xs, keep), ys[torch.as_tensor(keep)], take(xs, out.tolist())
            draws = []
            for learner in self.learners:
                for _ in range(max(1, learner.cfg.mc_samples if learner.zmod is not None else 1)):
                    params, _ = learner.adapt(self._hw, xs_i, ys_i, self.eval_steps, create_graph=False,
                                              sample_z=learner.zmod is not None)
                    with torch.no_grad():
                        draws.append(np.asarray(learner.net(xq, self._hw, params).numpy(), dtype=float).reshape(-1))
            loo[out] = np.mean(draws, axis=0)
        lo, hi = self._reference_ms.min(), self._reference_ms.max()
        return loo * (hi - lo) + lo

    def _forward_ms(self, inputs, chunk: int = 16384) -> np.ndarray:
        """Mean (ms) over the adapted draws: every Monte-Carlo z draw of every member (Lee et al. 2021
        sample z; an ensemble adds its members), de-normalised by the references."""
        n = len(inputs[0]) if isinstance(inputs, tuple) else len(inputs)
        total = np.zeros(n)
        with torch.no_grad(), torch_threads(TRAINING_THREADS):     # bit-identical whatever the caller's threads
            for start in range(0, n, chunk):
                part = (tuple(t[start:start + chunk] for t in inputs) if isinstance(inputs, tuple)
                        else inputs[start:start + chunk])
                for learner, params in self._adapted:
                    y = learner.net(part, self._hw, params).numpy()
                    total[start:start + chunk] += y
        lo, hi = self._reference_ms.min(), self._reference_ms.max()
        return total / len(self._adapted) * (hi - lo) + lo

    # ------------------------------------------------------------------ prediction
    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        """One batched forward pass over `archs` (every adapted draw and member)."""
        if self._adapted is None:
            raise HwnasError("oracle help must adapt() to the target device's reference measurements first")
        matrix = self.space.checked_matrix(archs)
        if len(matrix) == 0:
            return np.zeros(0)
        return self._forward_ms(encode(self.data.space, matrix, self.data.encoding))

    def setup_cost(self) -> SetupCost:
        # members differ only in their meta seed: they share the same source measurements, not their compute
        return SetupCost(shared_measurements=int(max(e["source_measurements"] for e in self.entries)),
                         shared_seconds=float(sum(e["seconds"] for e in self.entries)))


def meta_train_oracle(space: SearchSpace, force: bool = False, samples: int = N_REFERENCE, seed: int = 0,
                      train_if_missing: bool = True, eval_steps: int | None = None, ensemble: int = 1,
                      **meta) -> dict:
    """`hwnas meta-train`: make sure every ensemble member for `space` is in the cache; summarise them."""
    if space.name not in HELP_SPLITS:
        raise HwnasError(f"oracle help supports spaces {', '.join(HELP_SPLITS)}, not {space.name!r}")
    rows, measurements = [], 0
    for k in range(int(ensemble)):
        cfg = _meta_config(space.name, k, dict(meta))
        key = help_cache.cache_key(space, cfg)
        entry = ensure_meta_trained(space, cfg, train_if_missing=True, force=force)
        measurements = max(measurements, int(entry["source_measurements"]))  # members share the source data
        rows.append({"meta_seed": cfg.meta_seed, "seconds": round(entry["seconds"], 1),
                     "cpu_seconds": round(entry.get("cpu_seconds", float("nan")), 1),
                     "best_episode": entry["best_episode"],
                     "best_valid_spearman": round(entry["best_valid_spearman"], 4),
                     "cache": str(help_cache.cache_path(key))})
    return {"space": space.name, "members": rows, "source_measurements": measurements}

