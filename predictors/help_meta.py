"""HELP's meta-learning (Lee et al., NeurIPS 2021): Meta-SGD episodes over source devices.

Each episode samples `inner_tasks` source devices; per device the predictor, conditioned on the
device's hardware embedding and with z-modulated initial parameters, takes `inner_steps` gradient
steps with learned per-parameter learning rates (Meta-SGD, Li et al. 2017) on `support` samples and
is scored by MSE on `query` samples (second-order MAML, Finn et al. 2017), plus the z posterior's KL.
The checkpoint with the best mean Spearman on the validation devices is kept.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from hwnas.data import devices
from hwnas.core.errors import HwnasError, positive_number, true_or_false, whole_number
from hwnas.predictors.help_model import HelpNet, ZModulator, nb201_graph_features

# Bump when the model or training math changes: cached predictors of another version are not used.
# 2: FBNet uses HELP's factorised kernel/expansion encoding and HELP's FBNet row split and episodes.
# 3: meta-trained on TRAINING_THREADS (earlier entries depend on the caller's thread count).
MODEL_VERSION = 3

# HELP's device splits (its paper; MANIFEST.md): meta-train, meta-valid, meta-test.
HELP_SPLITS = {
    "nasbench201": (
        ("1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
         "essential_ph_1", "samsung_s7"),
        ("titanx_1", "titanx_32", "titanx_256", "gold_6240"),
        ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"),
    ),
    "fbnet": (
        ("1080ti_1", "1080ti_32", "1080ti_64", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
         "essential_ph_1", "samsung_s7"),
        ("titanx_1", "titanx_32", "titanx_64", "gold_6240"),
        ("fpga", "raspi4", "eyeriss"),
    ),
    "ofa_mbv3": (
        tuple(f"{g}_{b}" for g in ("2080ti", "titan_xp", "v100") for b in (1, 32, 64)),
        ("titan_rtx_1", "titan_rtx_32"),
        ("titan_rtx_64",),
    ),
}

# HELP's per-space settings where its scripts differ from parser.py's defaults: FBNet meta-trains on rows
# 0..3999 of each source device for 4000 episodes (script/run_meta_training_fbnet.sh); every space uses its
# own architecture encoding (NB201: the cell graph; FBNet: kernel + expansion one-hots; OFA: one-hots).
SPACE_DEFAULTS = {
    "nasbench201": {"episodes": 2000, "meta_train_rows": 900, "encoding": "graph"},
    "fbnet": {"episodes": 4000, "meta_train_rows": 4000, "encoding": "factorised"},
    "ofa_mbv3": {"episodes": 2000, "meta_train_rows": 900, "encoding": "onehot"},
}
ENCODINGS = {"nasbench201": ("graph",), "fbnet": ("factorised", "onehot"), "ofa_mbv3": ("onehot",)}
LABEL_SCALES = ("reference", "device_rows")
VALID_QUERIES = ("next_rows", "all_rows")
OPTIONAL_DEFAULTS = {"label_scale": "reference", "valid_query": "next_rows", "valid_steps": None}
# The least each numeric setting can be (0 inner steps: no adaptation, an ablation), and the true/false ones.
WHOLE_MINIMUM = {"layer_size": 1, "episodes": 1, "inner_tasks": 1, "inner_steps": 0, "support": 2, "query": 2,
                 "meta_train_rows": 2, "valid_query_rows": 2, "mc_samples": 1, "valid_every": 1, "meta_seed": 0,
                 "valid_steps": 0}
POSITIVE = ("meta_lr", "inner_lr_init")
NON_NEGATIVE = ("kl_scaling", "z_scaling")
SWITCHES = ("second_order", "remove_outliers", "z_on")


@dataclass
class MetaConfig:
    """Meta-training settings; defaults are HELP's published ones (its parser.py)."""

    train_devices: tuple[str, ...] = ()     # empty: HELP's split for the space
    valid_devices: tuple[str, ...] = ()
    layer_size: int = 100
    meta_lr: float = 1e-4
    episodes: int | None = None             # None: HELP's value for the space (SPACE_DEFAULTS)
    inner_tasks: int = 8
    inner_steps: int = 2
    inner_lr_init: float = 1e-3             # Meta-SGD's per-parameter learning rates start here
    second_order: bool = True
    support: int = 10                       # target samples per task
    query: int = 200                        # query samples per meta-train task
    meta_train_rows: int | None = None      # rows 0..n-1 of each source device are meta-train data (None: HELP's)
    valid_query_rows: int = 1000            # rows 900..1899 are the validation queries
    remove_outliers: bool = True            # drop the 10 % fastest / slowest of both row sets
    z_on: bool = True
    kl_scaling: float = 0.1
    z_scaling: float = 0.01
    mc_samples: int = 10                    # z samples averaged at validation / prediction
    valid_every: int = 50
    meta_seed: int = 0
    encoding: str | None = None             # architecture encoding (None: HELP's for the space)
    # Switches for comparing with other HELP runs (experiments/help_tasks_ablation.py); at their defaults they
    # are left out of the cache key, so predictors cached before they existed stay valid.
    label_scale: str = "reference"          # reference: the embedding's units; device_rows: min-max of the
                                            # device's meta-training rows (HELP's code; needs the device's table)
    valid_query: str = "next_rows"          # next_rows: rows after the meta-training rows; all_rows: every row
    valid_steps: int | None = None          # inner steps when validating (None: inner_steps)

    def resolved(self, space_name: str) -> "MetaConfig":
        if space_name not in HELP_SPLITS:
            raise HwnasError(f"HELP supports spaces {', '.join(HELP_SPLITS)}, not {space_name!r}")
        train, valid, _ = HELP_SPLITS[space_name]
        defaults = {k: v for k, v in SPACE_DEFAULTS[space_name].items() if getattr(self, k) is None}
        out = MetaConfig(**{**asdict(self), **defaults, "train_devices": tuple(self.train_devices or train),
                            "valid_devices": tuple(self.valid_devices or valid)})
        for name, minimum in WHOLE_MINIMUM.items():
            if getattr(out, name) is not None:
                whole_number("HELP", name, getattr(out, name), minimum)
        for name in POSITIVE + NON_NEGATIVE:
            positive_number("HELP", name, getattr(out, name), allow_zero=name in NON_NEGATIVE)
        for name in SWITCHES:
            true_or_false("HELP", name, getattr(out, name))
        for name, allowed in (("label_scale", LABEL_SCALES), ("valid_query", VALID_QUERIES)):
            if getattr(out, name) not in allowed:
                raise HwnasError(f"HELP: unknown {name} {getattr(out, name)!r}; valid: {', '.join(allowed)}")
        if out.encoding not in ENCODINGS[space_name]:
            raise HwnasError(f"HELP on {space_name}: unknown encoding {out.encoding!r}; valid: "
                             f"{', '.join(ENCODINGS[space_name])}")
        return out

    def to_dict(self) -> dict:
        """The settings (the cache key's part); a comparison switch at its default is left out."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if not (k in OPTIONAL_DEFAULTS and v == OPTIONAL_DEFAULTS[k])}


# ------------------------------------------------------------------ data
class SpaceData:
    """Encoder input of every table row of a space, its reference rows, and device latencies."""

    def __init__(self, space, encoding: str | None = None):
        self.space = space
        if space.name not in HELP_SPLITS:
            raise HwnasError(f"HELP supports spaces {', '.join(HELP_SPLITS)}, not {space.name!r}")
        self.encoding = encoding or SPACE_DEFAULTS[space.name]["encoding"]
        self.reference_rows = np.asarray(space.reference_rows().rows, dtype=np.int64)
        if not len(self.reference_rows):
            raise HwnasError(f"HELP needs the reference architectures of its hardware embedding; space "
                             f"{space.name} declares none (SearchSpace.reference_rows)")
        self.archs = np.asarray(space.table_archs())
        self.encoder = "gcn" if space.name == "nasbench201" else "mlp"
        self.inputs = encode(space, self.archs, self.encoding)
        self.in_features = int(self.inputs[0].shape[-1] if self.encoder == "gcn" else self.inputs.shape[-1])

    def latency_ms(self, device: str) -> np.ndarray:
        return devices.latency_ms(self.space.name, device)

    def take(self, rows):
        return take(self.inputs, rows)


def encode(space, archs, encoding: str | None = None):
    """Encoder input for `archs`: graph tensors for NB201, one-hot vectors otherwise (`encoding`)."""
    encoding = encoding or SPACE_DEFAULTS[space.name]["encoding"]
    if space.name == "nasbench201":
        feat, adj = nb201_graph_features(space, archs)
        return torch.from_numpy(feat), torch.from_numpy(adj)
    if encoding == "factorised":
        return torch.from_numpy(factorised_blocks(space, archs))
    return torch.from_numpy(np.asarray(space.encode(archs, "onehot"), dtype=np.float32))


def factorised_blocks(space, archs) -> np.ndarray:
    """HELP's FBNet encoding: per layer a kernel one-hot (k3, k5) and a block-type one-hot (e1, e1_g2,
    e3, e6); `skip` is all zeros. Blocks sharing a kernel or expansion share features (22 x 6 = 132)."""
    from hwnas.core.space import as_matrix

    kernels, types = ("k3", "k5"), ("e1", "e1_g2", "e3", "e6")
    table = np.zeros((len(space.dimensions()[0].choices), len(kernels) + len(types)), dtype=np.float32)
    for i, name in enumerate(space.dimensions()[0].choices):
        if name == "skip":
            continue
        kernel, _, kind = name.partition("_")
        table[i, kernels.index(kernel)] = 1.0
        table[i, len(kernels) + types.index(kind)] = 1.0
    matrix = as_matrix(archs)
    return table[matrix].reshape(len(matrix), -1)


def take(inputs, rows):
    rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
    if isinstance(inputs, tuple):
        return tuple(t[rows] for t in inputs)
    return inputs[rows]


def hardware_embedding(reference_ms: np.ndarray) -> np.ndarray:
    """HELP's hardware embedding: the reference latencies, min-max normalised to [0, 1]."""
    reference_ms = np.asarray(reference_ms, dtype=np.float64)
    if not np.isfinite(reference_ms).all():
        raise HwnasError("the hardware embedding needs a finite latency for every reference architecture")
    span = reference_ms.max() - reference_ms.min()
    if not span > 0:
        raise HwnasError("the reference architectures all have the same latency; cannot embed this device")
    return (reference_ms - reference_ms.min()) / span


def normalise(latency_ms: np.ndarray, reference_ms: np.ndarray) -> np.ndarray:
    """Latency in the hardware embedding's units (0 = fastest, 1 = slowest reference architecture)."""
    reference_ms = np.asarray(reference_ms, dtype=np.float64)
    return (np.asarray(latency_ms, dtype=np.float64) - reference_ms.min()) / (reference_ms.max() - reference_ms.min())


def inlier_rows(latency_ms: np.ndarray, rows: np.ndarray, remove_outliers: bool) -> np.ndarray:
    """HELP drops the 10 % fastest and 10 % slowest of a row set."""
    if not remove_outliers:
        return rows
    order = rows[np.argsort(latency_ms[rows], kind="stable")]
    return order[int(len(order) * 0.1): int(len(order) * 0.9)]


@dataclass
class DeviceTask:
    """One device's normalised latencies, hardware embedding and HELP row sets."""

    name: str
    hw_embed: torch.Tensor
    y: np.ndarray                 # normalised latency over all table rows
    train_rows: np.ndarray        # inliers of rows 0..meta_train_rows-1
    query_rows: np.ndarray        # inliers of the validation query rows


def device_task(sd: SpaceData, device: str, cfg: MetaConfig) -> DeviceTask:
    latency = sd.latency_ms(device)
    reference = latency[sd.reference_rows]
    if not np.isfinite(reference).all():
        raise HwnasError(f"device {device} has no latency for some reference architectures of {sd.space.name}")
    n = len(latency)
    train = inlier_rows(latency, np.arange(min(cfg.meta_train_rows, n)), cfg.remove_outliers)
    after = np.arange(cfg.meta_train_rows, min(cfg.meta_train_rows + cfg.valid_query_rows, n))
    query = inlier_rows(latency, np.arange(n) if cfg.valid_query == "all_rows" else after, cfg.remove_outliers)
    scale = reference if cfg.label_scale == "reference" else latency[train]  # normalise() uses min and max
    return DeviceTask(device, torch.tensor(hardware_embedding(reference), dtype=torch.float32),
                      normalise(latency, scale).astype(np.float32), train, query)


# ------------------------------------------------------------------ the meta-learner
class MetaLearner:
    """Predictor, z modulator and Meta-SGD learning rates; adapts to a device from a few samples."""

    def __init__(self, encoder: str, in_features: int, cfg: MetaConfig):
        self.cfg = cfg
        self.net = HelpNet(encoder, in_features, layer_size=cfg.layer_size)
        self.zmod = ZModulator(layer_size=cfg.layer_size, scale=cfg.z_scaling) if cfg.z_on else None
        self.task_lr = {k: torch.full_like(v, cfg.inner_lr_init, requires_grad=True)
                        for k, v in self.net.named_parameters()}

    def parameters(self) -> list[torch.Tensor]:
        out = list(self.net.parameters()) + list(self.task_lr.values())
        return out + (list(self.zmod.parameters()) if self.zmod is not None else [])

    def adapt(self, hw_embed, xs, ys, steps: int, create_graph: bool, sample_z: bool = True):
        """Inner loop: z-modulated initial parameters, then `steps` Meta-SGD steps on (xs, ys)."""
        params = self.net.params()
        kl = torch.zeros(())
        if self.zmod is not None:
            z, kl = self.zmod(hw_embed, sample=sample_z)
            params = self.zmod.modulate(params, z)
        for _ in range(steps):
            loss = F.mse_loss(self.net(xs, hw_embed, params), ys)
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
            params = type(params)((k, v - self.task_lr[k] * g) for (k, v), g in zip(params.items(), grads))
        if not create_graph:
            params = type(params)((k, v.detach()) for k, v in params.items())
        return params, kl

    def predict(self, hw_embed, xs, ys, xq, steps: int, mc_samples: int, chunk: int = 16384) -> np.ndarray:
        """Adapt `mc_samples` times (one z draw each) and average the normalised predictions on `xq`."""
        n = len(xq[0]) if isinstance(xq, tuple) else len(xq)
        total = np.zeros(n, dtype=np.float64)
        draws = max(1, mc_samples if self.zmod is not None else 1)
        for _ in range(draws):
            params, _ = self.adapt(hw_embed, xs, ys, steps, create_graph=False, sample_z=self.zmod is not None)
            with torch.no_grad():
                for start in range(0, n, chunk):
                    part = take(xq, np.arange(start, min(n, start + chunk)))
                    total[start:start + chunk] += self.net(part, hw_embed, params).numpy()
        return total / draws

    def state_dict(self) -> dict:
        return {"net": copy.deepcopy(self.net.state_dict()),
                "zmod": copy.deepcopy(self.zmod.state_dict()) if self.zmod is not None else None,
                "task_lr": {k: v.detach().clone() for k, v in self.task_lr.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        if self.zmod is not None:
            self.zmod.load_state_dict(state["zmod"])
        for k, v in state["task_lr"].items():
            self.task_lr[k] = v.clone().requires_grad_(True)


@dataclass
class MetaTrainResult:
    state: dict
    best_episode: int
    best_valid_spearman: float
    seconds: float
    source_measurements: int
    history: list = field(default_factory=list)


def validate(learner: MetaLearner, sd: SpaceData, tasks: list[DeviceTask], rng: np.random.Generator) -> float:
    """Mean Spearman on the validation devices' query rows after adapting on `support` train rows."""
    cfg = learner.cfg
    scores = []
    for task in tasks:
        support = rng.choice(task.train_rows, cfg.support, replace=False)
        pred = learner.predict(task.hw_embed, sd.take(support), torch.from_numpy(task.y[support]),
                               sd.take(task.query_rows), cfg.valid_steps or cfg.inner_steps, cfg.mc_samples)
        scores.append(spearmanr(pred, task.y[task.query_rows]).statistic)
    return float(np.mean(scores))


def meta_train(sd: SpaceData, cfg: MetaConfig, log: Callable[[str], None] = print,
               on_validate: Callable[[int, float, dict], None] | None = None) -> MetaTrainResult:
    """Run HELP's meta-training on `sd`'s source devices; return the best-validation state.

    `on_validate(episode, best_score, best_state)` is called after each validation (checkpointing).
    """
    cfg = cfg.resolved(sd.space.name)
    torch.manual_seed(cfg.meta_seed)
    rng = np.random.default_rng(cfg.meta_seed)
    train = [device_task(sd, d, cfg) for d in cfg.train_devices]
    valid = [device_task(sd, d, cfg) for d in cfg.valid_devices]
    learner = MetaLearner(sd.encoder, sd.in_features, cfg)
    optimiser = torch.optim.Adam(learner.parameters(), lr=cfg.meta_lr)
    start = time.perf_counter()
    best = (-np.inf, 0, learner.state_dict())
    history = []
    for episode in range(1, cfg.episodes + 1):
        picks = rng.permutation(len(train))[: cfg.inner_tasks]
        loss = torch.zeros(())
        for t in picks:
            task = train[t]
            rows = rng.permutation(task.train_rows)
            support, query = rows[: cfg.support], rows[cfg.support: cfg.support + cfg.query]
            params, kl = learner.adapt(task.hw_embed, sd.take(support), torch.from_numpy(task.y[support]),
                                       cfg.inner_steps, create_graph=cfg.second_order)
            pred = learner.net(sd.take(query), task.hw_embed, params)
            loss = loss + (F.mse_loss(pred, torch.from_numpy(task.y[query])) + cfg.kl_scaling * kl) / len(picks)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if episode == min(10, cfg.episodes - 1):  # say early how long it will take, from what it costs here
            per_episode = (time.perf_counter() - start) / episode
            left_s = per_episode * (cfg.episodes - episode)
            log(f"{per_episode:.2f} s per episode on {torch.get_num_threads()} torch thread(s): about "
                f"{f'{left_s / 60:.0f} min' if left_s >= 90 else f'{left_s:.0f} s'} left")
        if episode % cfg.valid_every == 0 or episode == cfg.episodes:
            score = validate(learner, sd, valid, np.random.default_rng(cfg.meta_seed + 1))
            history.append({"episode": episode, "loss": float(loss.detach()), "valid_spearman": score,
                            "seconds": time.perf_counter() - start})
            if score > best[0]:
                best = (score, episode, learner.state_dict())
            if on_validate is not None:
                on_validate(episode, best[0], {"best_episode": best[1], "state": best[2], "history": history})
            log(f"episode {episode}/{cfg.episodes}: loss {float(loss.detach()):.4f}, valid Spearman {score:.4f} "
                f"(best {best[0]:.4f} at {best[1]}), {time.perf_counter() - start:.0f} s")
    used = set(sd.reference_rows.tolist())
    measurements = sum(len(used | set(range(min(cfg.meta_train_rows, len(t.y))))) for t in train)
    measurements += sum(len(used | set(range(min(cfg.meta_train_rows + cfg.valid_query_rows, len(t.y)))))
                        for t in valid)
    return MetaTrainResult(best[2], best[1], float(best[0]), time.perf_counter() - start, measurements, history)
