"""NASFLAT's network (Akhauri & Abdelfattah, MLSys 2024): a graph encoder over the operation graph with a
learned hardware embedding concatenated to every node's operation embedding.

Written for hwnas from the paper and its public code: gated dense graph flow layers (operation embeddings
gate the messages, as in TA-GATES), one operation pass whose output node feeds an operation-embedding update
(the paper's backward pass, an MLP), a second forward pass, masked mean pooling and a regression MLP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hwnas.core.errors import HwnasError
from hwnas.core.space import as_matrix

NONE_OP = "none"   # an operation that cuts its edge (NB201): left out of the pooled mean
IDENTITY_OPS = ("none", "skip", "skip_connect", "input", "output")   # nodes that run no kernel


@dataclass(frozen=True)
class GraphBatch:
    """Architectures as graphs: node tokens (n, nodes), adjacency (nodes, nodes) with A[i, j] = 1 for
    the edge i -> j, a pooling mask (n, nodes) and the supplementary encoding (n, k)."""

    tokens: torch.Tensor
    adjacency: torch.Tensor
    pool: torch.Tensor
    extra: torch.Tensor

    def take(self, rows) -> "GraphBatch":
        rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        return GraphBatch(self.tokens[rows], self.adjacency, self.pool[rows], self.extra[rows])

    def __len__(self) -> int:
        return len(self.tokens)


def graph_vocabulary(space) -> tuple[str, ...]:
    """Node token names: the space's cell graph node types (NB201), else input, each distinct choice name
    of the layers, output (FBNet, OFA: the layer chain)."""
    if hasattr(space, "graph"):
        from hwnas.search_spaces.nasbench201 import GRAPH_NODE_TYPES  # a predictor may use a space's module

        return tuple(GRAPH_NODE_TYPES)
    names = dict.fromkeys(str(c) for d in space.dimensions() for c in d.choices)
    return ("input", *names, "output")


def encode_graphs(space, archs) -> GraphBatch:
    """The operation graph of each arch (batched): NB201's cell DAG (operations on nodes), or a chain
    input -> layer 1 -> ... -> layer L -> output whose node tokens are the chosen blocks."""
    matrix = as_matrix(archs)
    vocab = graph_vocabulary(space)
    if hasattr(space, "graph"):
        adjacency, features = space.graph(matrix)
        if len(adjacency) and not (adjacency == adjacency[:1]).all():
            raise HwnasError(f"oracle nasflat: space {space.name} has architecture-dependent cell wiring")
        tokens = features.argmax(-1) if len(features) else np.zeros((0, features.shape[1]), dtype=np.int64)
        adjacency = adjacency[0] if len(adjacency) else np.zeros((features.shape[1],) * 2, dtype=np.float32)
    else:
        lookup = {name: i for i, name in enumerate(vocab)}
        table = [[lookup[str(c)] for c in d.choices] for d in space.dimensions()]
        layers = len(table)
        tokens = np.zeros((len(matrix), layers + 2), dtype=np.int64)
        tokens[:, -1] = len(vocab) - 1
        for i, ids in enumerate(table):
            if len(matrix):
                tokens[:, i + 1] = np.asarray(ids)[matrix[:, i]]
        adjacency = np.eye(layers + 2, k=1, dtype=np.float32)
    pool = np.ones(tokens.shape, dtype=np.float32)
    pool[:, 0] = 0.0                                   # the input node carries no operation
    if NONE_OP in vocab:
        pool[tokens == vocab.index(NONE_OP)] = 0.0
    return GraphBatch(torch.as_tensor(tokens, dtype=torch.long), torch.as_tensor(adjacency, dtype=torch.float32),
                      torch.as_tensor(pool), torch.as_tensor(supplementary(tokens, vocab)))


def supplementary(tokens: np.ndarray, vocab: tuple[str, ...]) -> np.ndarray:
    """hwnas's supplementary encoding (in place of the paper's arch2vec/CATE/zero-cost vectors): the share
    of nodes that run a kernel (not identity, skip or cut), which ranks kernel-launch-bound GPU latency."""
    idle = np.isin(tokens, [i for i, name in enumerate(vocab) if name in IDENTITY_OPS])
    return (1.0 - idle.mean(1, keepdims=True)).astype(np.float32) if tokens.size else np.zeros((0, 1), np.float32)


class GatedFlow(nn.Module):
    """One dense graph flow layer: h W plus the predecessors' h W, gated per node by its operation."""

    def __init__(self, in_dim: int, out_dim: int, cond_dim: int):
        super().__init__()
        self.weight = nn.Linear(in_dim, out_dim, bias=True)
        self.gate = nn.Linear(cond_dim, out_dim)

    def forward(self, h: torch.Tensor, adjacency_t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        support = self.weight(h)
        return torch.sigmoid(self.gate(cond)) * torch.matmul(adjacency_t, support) + support


def _mlp(dims: list[int], last_activation: bool = False, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2 or last_activation:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class NasflatNet(nn.Module):
    """Score of (architecture, device): higher is slower. Device `d` is a row of `hw_emb`."""

    def __init__(self, vocab: int, nodes: int, devices: int, op_dim: int = 40, hw_dim: int = 8, hidden: int = 96,
                 flow_dims: tuple[int, ...] = (128, 128, 128), op_flow_dims: tuple[int, ...] = (128, 128),
                 mlp_dims: tuple[int, ...] = (200, 200, 200), dropout: float = 0.1, extra_dim: int = 0):
        super().__init__()
        cond = op_dim + hw_dim
        self.op_emb = nn.Embedding(vocab, op_dim)
        self.hw_emb = nn.Embedding(devices, hw_dim)
        self.node_emb = nn.Embedding(nodes, hidden)     # per-position node state (hwnas: positions, not one shared)
        self.op_flows = nn.ModuleList(GatedFlow(a, b, cond) for a, b in zip((hidden, *op_flow_dims), op_flow_dims))
        self.backward_mlp = _mlp([op_flow_dims[-1], 128, 128, 128])
        self.update = _mlp([cond + 128, 128, cond])
        self.flows = nn.ModuleList(GatedFlow(a, b, cond) for a, b in zip((hidden, *flow_dims), flow_dims))
        self.extra = _mlp([extra_dim, 32, 32]) if extra_dim else None   # the paper's zcp_embedder, for `extra`
        self.head = nn.Sequential(_mlp([flow_dims[-1] + (32 if extra_dim else 0), *mlp_dims], last_activation=True,
                                       dropout=dropout), nn.Linear(mlp_dims[-1], 1))

    def _update(self, cond: torch.Tensor, back: torch.Tensor) -> torch.Tensor:
        """`update` of [cond, back broadcast to every node]; back's share of the first layer once per graph."""
        first = self.update[0]
        split = cond.shape[-1]
        hidden = (torch.matmul(cond, first.weight[:, :split].t())
                  + (torch.matmul(back, first.weight[:, split:].t()) + first.bias)[:, None, :])
        return self.update[1:](hidden)

    @staticmethod
    def _run(flows, h, adjacency_t, cond):
        for i, flow in enumerate(flows):
            h = flow(h, adjacency_t, cond)
            if i < len(flows) - 1:
                h = torch.relu(h)
        return h

    def forward(self, graphs: GraphBatch, device_index: torch.Tensor) -> torch.Tensor:
        n, nodes = graphs.tokens.shape
        adjacency_t = graphs.adjacency.t()
        hw = self.hw_emb(device_index)[:, None, :].expand(n, nodes, -1)
        cond = torch.cat([self.op_emb(graphs.tokens), hw], -1)            # the hardware embedding, node level
        h0 = self.node_emb.weight[None].expand(n, nodes, -1)
        op_state = self._run(self.op_flows, h0, adjacency_t, cond)
        cond = self._update(cond, self.backward_mlp(op_state[:, -1]))
        h = self._run(self.flows, h0, adjacency_t, cond)
        pooled = (h * graphs.pool[..., None]).sum(1) / graphs.pool.sum(1, keepdim=True).clamp_min(1.0)
        if self.extra is not None:
            pooled = torch.cat([pooled, self.extra(graphs.extra)], -1)
        return self.head(pooled).squeeze(-1)


def pairwise_hinge(scores: torch.Tensor, latency: torch.Tensor, group: torch.Tensor,
                   margin: float = 0.1) -> torch.Tensor:
    """NASFLAT's pairwise ranking loss (hinge, margin 0.1) over every pair of the batch measured on the same
    device whose latencies differ: the slower architecture must score at least `margin` higher."""
    diff_lat = latency[:, None] - latency[None, :]
    valid = (group[:, None] == group[None, :]) & (diff_lat != 0)
    valid = torch.triu(valid, diagonal=1)
    if not bool(valid.any()):
        return scores.sum() * 0.0
    sign = torch.sign(diff_lat[valid])
    diff_score = (scores[:, None] - scores[None, :])[valid]
    return torch.relu(margin - sign * diff_score).mean()
