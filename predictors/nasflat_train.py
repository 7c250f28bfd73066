"""NASFLAT's training (Akhauri & Abdelfattah, MLSys 2024): joint pre-training on all source devices with a
pairwise ranking loss, transfer to a target device (its embedding starts from the source device that ranks
the target samples best, then the whole network is fine-tuned), and the encoding-based sampler of the target
samples (k-means clusters plus cosine-distinct picks).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
from scipy.optimize import nnls
from scipy.stats import spearmanr

from hwnas.predictors.nasflat_model import GraphBatch, NasflatNet, pairwise_hinge


@dataclass(frozen=True)
class PretrainConfig:
    """Pre-training settings (the paper's: AdamW 1e-3, weight decay 1e-5, cosine schedule, batch 128;
    epochs fewer than its 150, sized for CPUs: docs/nasflat.md)."""

    source_rows: int = 800          # architectures per source device (the paper: NB201 512, FBNet 800)
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    margin: float = 0.1
    hidden: int = 64
    flow_dim: int = 64
    supplementary: bool = True      # hwnas's supplementary encoding (nasflat_model.supplementary) beside the graph
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def build_net(vocab: int, nodes: int, n_sources: int, cfg: PretrainConfig) -> NasflatNet:
    """The network with one embedding row per source device plus one for the target (the last row)."""
    d = cfg.flow_dim
    return NasflatNet(vocab, nodes, n_sources + 1, hidden=cfg.hidden, flow_dims=(d, d, d), op_flow_dims=(d, d),
                      extra_dim=1 if cfg.supplementary else 0)


def source_rows(latency: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` table rows measured on every source device (`latency`: sources x rows), drawn with `seed`."""
    covered = np.flatnonzero(np.isfinite(latency).all(0))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(covered, size=min(n, len(covered)), replace=False))


def pretrain(graphs: GraphBatch, latency: np.ndarray, vocab: int, cfg: PretrainConfig, log=print) -> dict:
    """Train on `cfg.source_rows` rows of every source device (`latency`: sources x table rows, ms) jointly;
    batches mix devices, pairs are ranked within a device. Returns the state and its cost."""
    started, cpu = time.perf_counter(), time.process_time()
    torch.manual_seed(cfg.seed)
    rows = source_rows(latency, cfg.source_rows, cfg.seed)
    n_src = latency.shape[0]
    net = build_net(vocab, graphs.tokens.shape[1], n_src, cfg)
    arch = np.tile(rows, n_src)
    device = np.repeat(np.arange(n_src), len(rows))
    target = np.log(latency[device, arch])
    optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=cfg.epochs, eta_min=1e-6)
    rng = np.random.default_rng(cfg.seed + 1)
    history = []
    net.train()
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(arch))
        total = 0.0
        for start in range(0, len(order), cfg.batch_size):
            part = order[start:start + cfg.batch_size]
            group = torch.as_tensor(device[part])
            score = net(graphs.take(arch[part]), group)
            loss = pairwise_hinge(score, torch.as_tensor(target[part]), group, cfg.margin)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(part)
        schedule.step()
        history.append(round(total / len(order), 5))
        if log and (epoch + 1) % 10 == 0:
            log(f"epoch {epoch + 1}/{cfg.epochs}: ranking loss {history[-1]:.4f}")
    net.eval()
    graphs_scores = np.stack([scores(net, graphs, d) for d in range(n_src)]).astype(np.float32)
    return {"state": net.state_dict(), "rows": rows.tolist(), "history": history, "source_scores": graphs_scores,
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "source_measurements": int(len(rows) * n_src)}


def best_source(source_ms: np.ndarray, target_ms: np.ndarray) -> tuple[int, np.ndarray]:
    """The source device (row of `source_ms`: sources x samples) whose latencies rank the target's samples
    best (Spearman), and every source's Spearman (NaN where undefined)."""
    rho = np.array([spearmanr(s, target_ms).statistic if np.ptp(s) > 0 else np.nan for s in source_ms])
    return int(np.nanargmax(rho)) if np.isfinite(rho).any() else 0, rho


def pooled_sources(source_ms: np.ndarray, target_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sources statistically tied with the best at fitting the target's samples, best first, and every
    source's correlation. Fit: Pearson correlation of log latencies (latency tables relate multiplicatively; the
    magnitudes carry more than ranks on 5-20 samples); tied: Fisher z within one standard error, 1/sqrt(n-3), of
    the best (the one-standard-error rule, Breiman et al. 1984), so one lucky source is not picked alone."""
    log_target = np.log(target_ms)
    r = np.array([np.corrcoef(np.log(s), log_target)[0, 1] if np.ptp(s) > 0 and np.ptp(log_target) > 0 else np.nan
                  for s in source_ms])
    if not np.isfinite(r).any():
        return np.arange(len(source_ms)), r
    z = np.arctanh(np.clip(np.nan_to_num(r, nan=-1.0), -0.999, 0.999))
    tied = np.flatnonzero(z >= z.max() - 1.0 / np.sqrt(max(len(target_ms) - 3, 1)))
    return tied[np.argsort(-z[tied], kind="stable")], r


@dataclass(frozen=True)
class TransferConfig:
    """Fine-tuning on the target samples (the paper's code: AdamW, cosine schedule, batch 16; its FBNet lr and epochs,
    which hwnas uses on every space)."""

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 16
    weight_decay: float = 1e-5
    margin: float = 0.1
    seed: int = 0
    embedding_epochs: int = 0       # hwnas: first fit the target's embedding row alone (0: the paper's, off)
    embedding_lr: float = 1e-2


def start_target_row(net: NasflatNet, init_from) -> None:
    """Set the target's (last) hardware embedding row to the mean of source rows `init_from` (an index or a
    list; None: every source)."""
    target_row = net.hw_emb.num_embeddings - 1
    with torch.no_grad():
        sources = net.hw_emb.weight[:target_row]
        chosen = sources if init_from is None else sources[np.atleast_1d(init_from).tolist()]
        net.hw_emb.weight[target_row] = chosen.mean(0)


def transfer(net: NasflatNet, graphs: GraphBatch, latency_ms: np.ndarray, init_from,
             cfg: TransferConfig) -> NasflatNet:
    """A copy of `net` with the target row of its hardware embedding started from sources `init_from`
    (`start_target_row`), fine-tuned on the target samples with the ranking loss."""
    torch.manual_seed(cfg.seed)
    net = copy.deepcopy(net)
    target_row = net.hw_emb.num_embeddings - 1
    start_target_row(net, init_from)
    y = torch.as_tensor(np.log(latency_ms))
    device = torch.full((len(y),), target_row, dtype=torch.long)
    rng = np.random.default_rng(cfg.seed)
    net.train()
    if cfg.embedding_epochs:
        # the target as a point of the pre-trained device space: only its embedding row moves
        # (latent-space adaptation, Zintgraf et al. 2019 CAVIA), before the whole network is fine-tuned
        frozen = [p for p in net.parameters() if p is not net.hw_emb.weight]
        for p in frozen:
            p.requires_grad_(False)
        mask = torch.zeros_like(net.hw_emb.weight)
        mask[target_row] = 1.0
        optimiser = torch.optim.Adam([net.hw_emb.weight], lr=cfg.embedding_lr, foreach=True)
        _fit(net, graphs, y, device, optimiser, None, cfg.embedding_epochs, cfg, rng, grad_mask=mask)
        for p in frozen:
            p.requires_grad_(True)
    optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(cfg.epochs, 1), eta_min=1e-6)
    _fit(net, graphs, y, device, optimiser, schedule, cfg.epochs, cfg, rng)
    net.eval()
    return net


def _fit(net, graphs, y, device, optimiser, schedule, epochs, cfg, rng, grad_mask=None) -> None:
    """Mini-batch epochs of the pairwise ranking loss (`grad_mask`: zero the gradient outside it). The optimisers
    here and in `pretrain` use `foreach`: the same updates to the bit as the per-tensor loop, in fewer calls."""
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(order), cfg.batch_size):
            part = order[start:start + cfg.batch_size]
            if len(part) < 2:
                continue
            score = net(graphs.take(part), device[part])
            loss = pairwise_hinge(score, y[part], device[part], cfg.margin)
            optimiser.zero_grad()
            loss.backward()
            if grad_mask is not None:
                net.hw_emb.weight.grad *= grad_mask
            optimiser.step()
        if schedule is not None:
            schedule.step()


def scores(net: NasflatNet, graphs: GraphBatch, device_row: int, chunk: int = 1024) -> np.ndarray:
    """The network's score of every graph on embedding row `device_row`, batched (chunks of 1,024 graphs stay in
    cache: 1.3-1.6x faster than 8,192 here, and the adapted oracle's predictions stayed the same to the bit)."""
    out = np.empty(len(graphs))
    with torch.no_grad():
        for start in range(0, len(graphs), chunk):
            part = graphs.take(np.arange(start, min(start + chunk, len(graphs))))
            out[start:start + len(part)] = net(part, torch.full((len(part),), device_row, dtype=torch.long)).numpy()
    return out


def log_linear_fit(scores_: np.ndarray, latency_ms: np.ndarray) -> tuple[float, float]:
    """(a, b) of log(latency) ~ a * score + b by least squares; the slope is kept positive (the score ranks
    latency), so predictions keep the network's order."""
    if np.ptp(scores_) == 0:
        return 0.0, float(np.mean(np.log(latency_ms)))
    a, b = np.polyfit(scores_, np.log(latency_ms), 1)
    if a <= 0:
        a = 1e-6
        b = float(np.mean(np.log(latency_ms)) - a * np.mean(scores_))
    return float(a), float(b)


def ridge_fit(features: np.ndarray, log_ms: np.ndarray, lam: float = 1e-2, bags: int = 0, seed: int = 0):
    """A ridge read-out log(ms) ~ standardised features . w + b (penalty lam * n) with w >= 0: every input
    rises with latency by construction (ranking scores, kernel share, FLOPs), so a negative weight is noise
    fitted on few samples that would reverse the ranking (docs/nasflat.md); if every weight is 0 the first input
    (NASFLAT: the pre-trained score) sets the order. `bags` > 0: the mean of that many fits on bootstrap draws of
    the samples (seeded; bagging, Breiman 1996), which damps the weights' noise on few samples. Returns a function
    of features."""
    if bags:
        rng = np.random.default_rng(seed)
        draws = (rng.integers(0, len(log_ms), len(log_ms)) for _ in range(bags))
        fits = [ridge_fit(features[d], log_ms[d], lam) for d in draws if np.ptp(log_ms[d]) > 0]
        if fits:
            return lambda x: np.mean([fit(x) for fit in fits], axis=0)
    mu, sd = features.mean(0), features.std(0) + 1e-9
    z = (features - mu) / sd
    augmented = np.vstack([z, np.sqrt(lam * len(z)) * np.eye(z.shape[1])])
    w, _ = nnls(augmented, np.concatenate([log_ms - log_ms.mean(), np.zeros(z.shape[1])]))
    if not (w > 0).any():       # no input ranks the samples: keep the first one's order (the prior), not a constant
        w = np.eye(len(w))[0] * 1e-6
    b = float(log_ms.mean())
    return lambda x: ((x - mu) / sd) @ w + b


def fold_split(n: int, seed: int, folds: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kept, held-out) sample indices of k seeded folds: the out-of-fold read-out inputs all use these."""
    rng = np.random.default_rng(seed)
    return [(np.setdiff1d(np.arange(n), held), held) for held in np.array_split(rng.permutation(n), min(folds, n))]


def source_mix(source_log_ms: np.ndarray, log_ms: np.ndarray, seed: int, folds: int = 4):
    """hwnas: the target's log ms as a non-negative ridge mix of the source devices' log ms (`source_log_ms`:
    samples x sources; `ridge_fit`). Returns each sample's out-of-fold mix (k folds, `fold_split`) and the mix
    fitted on every sample (a function of a sources' log ms matrix)."""
    held_out = np.empty(len(log_ms))
    for keep, held in fold_split(len(log_ms), seed, folds):
        held_out[held] = ridge_fit(source_log_ms[keep], log_ms[keep])(source_log_ms[held])
    return held_out, ridge_fit(source_log_ms, log_ms)


REJECT_SIDES = ("both", "slow")


def outlier_samples(source_log_ms: np.ndarray, log_ms: np.ndarray, seed: int, z_max: float = 3.0,
                    per: int = 10, side: str = "both") -> np.ndarray:
    """hwnas: indices of target samples the sources cannot explain, gross measurement glitches to leave out of the
    transfer: the robust z-score (median and MAD; Hampel 1974, Rousseeuw & Croux 1993) of each sample's residual
    from its out-of-fold source mix (`source_mix`) beyond `z_max`, at most one sample in `per` (none below `per`),
    largest first. One such sample among 10-20 sets the source choice, the fine-tuning and the read-out's weights
    (docs/nasflat_studies.md "Leaving out samples the sources cannot explain"). `side="slow"`: only samples measured
    slower than the mix says, as interference only adds time; a faster one is the target's own behaviour."""
    cap = len(log_ms) // per
    if cap == 0:
        return np.zeros(0, dtype=np.int64)
    residual = log_ms - source_mix(source_log_ms, log_ms, seed)[0]
    signed = residual - np.median(residual)
    deviation = np.abs(signed)
    spread = 1.4826 * np.median(deviation)         # the MAD, scaled to a normal's standard deviation
    if spread <= 0:
        return np.zeros(0, dtype=np.int64)
    z = (signed if side == "slow" else deviation) / spread
    order = np.argsort(-z, kind="stable")[:cap]
    return np.sort(order[z[order] > z_max])


def out_of_fold_scores(net: NasflatNet, graphs: GraphBatch, latency_ms: np.ndarray, init_from,
                       cfg: TransferConfig, folds: int = 4, tuned: list[NasflatNet] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's scores from a transfer that never saw it (k folds): the pre-trained network on the fold's
    starting embedding, and the fine-tuned one. `init_from` may be a function of the fold's kept sample indices
    (the sources are then chosen without the held-out samples too), so a read-out fitted on these inputs sees
    no sample twice. `tuned`: the folds' transfers if already run (`nasflat_jobs`), in `fold_split` order."""
    n = len(latency_ms)
    start, tuned_out = np.empty(n), np.empty(n)
    row = net.hw_emb.num_embeddings - 1
    for fold, (keep, held) in enumerate(fold_split(n, cfg.seed, folds)):
        init = init_from(keep) if callable(init_from) else init_from
        first = copy.deepcopy(net)
        start_target_row(first, init)
        start[held] = scores(first, graphs.take(held), row)
        fitted = transfer(net, graphs.take(keep), latency_ms[keep], init, cfg) if tuned is None else tuned[fold]
        tuned_out[held] = scores(fitted, graphs.take(held), row)
    return start, tuned_out


# ------------------------------------------------------------------ the target samples
def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 30) -> np.ndarray:
    """Cluster labels of Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007)."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), 1)
        total = d2.sum()
        centres.append(x[rng.choice(len(x), p=d2 / total)] if total > 0 else x[rng.integers(len(x))])
    centres = np.asarray(centres, dtype=float)
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        labels = (((x[:, None, :] - centres[None]) ** 2).sum(-1)).argmin(1)
        moved = np.array([x[labels == c].mean(0) if (labels == c).any() else centres[c] for c in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def select_samples(encodings: np.ndarray, n: int, seed: int, design: np.ndarray | None = None,
                   criterion: str = "doptimal") -> np.ndarray:
    """NASFLAT's sampler ("kmeancosine"): n//2 picks, one per k-means cluster of the encodings, plus one pick
    per bucket of the encodings sorted by mean cosine similarity to all; distinct positions, seeded. With
    `design` (rows x the read-out's inputs known before measuring; hwnas) the second half is greedy optimal-design
    picks over it: `DESIGN_PICKS[criterion]`."""
    rng = np.random.default_rng(seed)
    x = np.asarray(encodings, dtype=float)
    n = min(n, len(x))
    chosen: list[int] = []
    k = n // 2
    if k:
        labels = kmeans(x, k, rng)
        for c in range(k):
            members = np.flatnonzero(labels == c)
            if len(members):
                chosen.append(int(rng.choice(members)))
    rest = (cosine_picks(x, chosen, n - len(chosen), rng) if design is None
            else DESIGN_PICKS[criterion](design, chosen, n - len(chosen)))
    return np.asarray(chosen + rest, dtype=np.int64)


def cosine_picks(x: np.ndarray, chosen: list[int], n: int, rng: np.random.Generator) -> list[int]:
    """NASFLAT's cosine-distinct half: one random pick per bucket of the encodings `x` sorted by mean cosine
    similarity to all, leaving out positions already `chosen`."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    order = np.argsort(unit @ unit.mean(0), kind="stable")
    order = order[~np.isin(order, chosen)]
    return [int(rng.choice(bucket)) for bucket in np.array_split(order, n) if len(bucket)]


def standardised_design(design: np.ndarray) -> np.ndarray:
    """The design's columns standardised; constant or non-finite ones dropped (they carry no direction)."""
    x = np.asarray(design, dtype=float)
    x = x[:, np.isfinite(x).all(0) & (np.ptp(x, 0) > 0)] if len(x) else x
    return (x - x.mean(0)) / np.maximum(x.std(0), 1e-12)


def greedy_design_picks(z: np.ndarray, chosen: list[int], n: int, ridge: float,
                        gain: Callable[[np.ndarray], np.ndarray]) -> list[int]:
    """n greedy picks of rows of the standardised design `z` after `chosen`: each time the row of highest
    `gain(inverse information)`, then its outer product joins the information Z'Z + ridge I. Deterministic."""
    picked = list(chosen)
    information = ridge * np.eye(z.shape[1]) + z[picked].T @ z[picked]
    out: list[int] = []
    for _ in range(min(n, len(z) - len(picked))):
        score = gain(np.linalg.inv(information))
        score[picked + out] = -np.inf
        out.append(int(np.argmax(score)))
        information += np.outer(z[out[-1]], z[out[-1]])
    return out


def doptimal_picks(design: np.ndarray, chosen: list[int], n: int, ridge: float = 0.1) -> list[int]:
    """hwnas: n greedy D-optimal picks (Fedorov 1972) after `chosen`: each time the row of highest leverage
    z' (Z'Z + ridge I)^-1 z over the picks so far, which raises log det(Z'Z + ridge I) most and so shrinks the
    variance of a linear read-out's weights most. Deterministic given `chosen`."""
    z = standardised_design(design)
    return greedy_design_picks(z, chosen, n, ridge, lambda inverse: np.einsum("ij,jk,ik->i", z, inverse, z))


def ioptimal_picks(design: np.ndarray, chosen: list[int], n: int, ridge: float = 0.1) -> list[int]:
    """hwnas: n greedy I-optimal picks (integrated variance; Atkinson, Donev & Tobias 2007) after `chosen`:
    each time the row that most lowers the linear read-out's prediction variance averaged over the design's rows
    (the architectures to be ranked), trace(M (Z'Z + ridge I)^-1) with M = Z'Z / rows over all of them (by
    Sherman-Morrison the drop for row z is z'B M B z / (1 + z'B z), B the inverse). D-optimality spreads picks to the
    design's extremes; this weighs directions by how many rows lie along them. Deterministic given `chosen`."""
    z = standardised_design(design)
    moment = z.T @ z / max(len(z), 1)

    def drop(inverse: np.ndarray) -> np.ndarray:
        u = z @ inverse
        return np.einsum("ij,jk,ik->i", u, moment, u) / (1.0 + np.einsum("ij,ij->i", u, z))

    return greedy_design_picks(z, chosen, n, ridge, drop)


# the greedy second halves of `select_samples` given a design, by criterion
DESIGN_PICKS = {"doptimal": doptimal_picks, "ioptimal": ioptimal_picks}
