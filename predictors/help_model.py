"""HELP's hardware-conditioned latency predictor (Lee, Lee, Chong & Hwang, NeurIPS 2021).

An architecture encoder (a GCN over the NB201 cell with a global node, as in BRP-NAS, Dudziak et al.
2020; an MLP over one-hot layer choices for FBNet and OFA) is joined with an MLP embedding of the
hardware embedding; a three-layer head predicts normalised latency. HELP's hardware-adaptive z
modulator (an amortised inference network on the hardware embedding) scales and shifts the head's
initial parameters before the inner-loop adaptation. Forward passes take an explicit parameter dict,
so that MAML / Meta-SGD can differentiate through adapted parameters.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HEAD_LAYERS = ("head1", "head2", "head3")

Params = "OrderedDict[str, torch.Tensor]"


def nb201_graph_features(space, archs) -> tuple[np.ndarray, np.ndarray]:
    """NB201 cells as HELP/BRP-NAS graphs: node one-hots (n, 9, 8) and adjacency (n, 9, 9).

    A global node (last) receives every node; self-loops are added; rows index the receiving node,
    so `adj @ h` aggregates each node's predecessors and itself.
    """
    adjacency, features = space.graph(archs)
    n, nodes, kinds = features.shape
    feat = np.zeros((n, nodes + 1, kinds + 1), dtype=np.float32)
    feat[:, :nodes, :kinds] = features
    feat[:, nodes, kinds] = 1.0
    adj = np.zeros((n, nodes + 1, nodes + 1), dtype=np.float32)
    adj[:, :nodes, :nodes] = adjacency
    adj[:, :, nodes] = 1.0
    adj[:, np.arange(nodes + 1), np.arange(nodes + 1)] = 1.0
    return feat, np.ascontiguousarray(adj.transpose(0, 2, 1))


class HelpNet(nn.Module):
    """Encoder (`gcn` or `mlp`) + hardware-embedding MLP, concatenated, then a 3-layer head."""

    def __init__(self, encoder: str, in_features: int, hw_embed_dim: int = 10, layer_size: int = 100,
                 gcn_layers: int = 4):
        super().__init__()
        self.encoder = encoder
        self.gcn_layers = gcn_layers
        if encoder == "gcn":
            dims = [in_features] + [layer_size] * gcn_layers
            for i in range(gcn_layers):
                layer = nn.Linear(dims[i], dims[i + 1])
                nn.init.uniform_(layer.weight, -0.05, 0.05)
                nn.init.uniform_(layer.bias, -1 / math.sqrt(dims[i + 1]), 1 / math.sqrt(dims[i + 1]))
                self.add_module(f"gc{i + 1}", layer)
        elif encoder == "mlp":
            self.add_module("enc1", nn.Linear(in_features, layer_size))
            self.add_module("enc2", nn.Linear(layer_size, layer_size))
        else:
            raise ValueError(f"unknown encoder {encoder!r}")
        self.add_module("hw1", nn.Linear(hw_embed_dim, layer_size))
        self.add_module("hw2", nn.Linear(layer_size, layer_size))
        self.add_module("head1", nn.Linear(2 * layer_size, 2 * layer_size))
        self.add_module("head2", nn.Linear(2 * layer_size, 2 * layer_size))
        self.add_module("head3", nn.Linear(2 * layer_size, 1))

    def params(self) -> Params:
        return OrderedDict(self.named_parameters())

    def encode(self, x, p: Params) -> torch.Tensor:
        if self.encoder == "gcn":
            feat, adj = x
            h = feat
            for i in range(1, self.gcn_layers):
                h = F.relu(torch.bmm(adj, F.linear(h, p[f"gc{i}.weight"])) + p[f"gc{i}.bias"])
            # only the global node's last-layer state is read out: aggregate first, then transform
            pooled = torch.bmm(adj[:, -1:, :], h).squeeze(1)
            i = self.gcn_layers
            return F.relu(F.linear(pooled, p[f"gc{i}.weight"], p[f"gc{i}.bias"]))
        h = F.relu(F.linear(x, p["enc1.weight"], p["enc1.bias"]))
        return F.relu(F.linear(h, p["enc2.weight"], p["enc2.bias"]))

    def forward(self, x, hw_embed: torch.Tensor, p: Params | None = None) -> torch.Tensor:
        """Normalised latency, shape (n,), for a batch `x` on the device with embedding `hw_embed` (d,)."""
        p = self.params() if p is None else p
        h = self.encode(x, p)
        hw = F.relu(F.linear(hw_embed, p["hw1.weight"], p["hw1.bias"]))
        hw = F.relu(F.linear(hw, p["hw2.weight"], p["hw2.bias"]))
        out = torch.cat([h, hw.expand(len(h), -1)], dim=-1)
        out = F.relu(F.linear(out, p["head1.weight"], p["head1.bias"]))
        out = F.relu(F.linear(out, p["head2.weight"], p["head2.bias"]))
        return F.linear(out, p["head3.weight"], p["head3.bias"]).squeeze(-1)


class ZModulator(nn.Module):
    """HELP's inference network: q(z | hardware embedding) = N(mu, softplus(s)), KL to N(0, I).

    z holds one multiplicative factor per input unit of each head layer and one additive shift per
    head layer; `modulate` applies W * (1 + scale * z_w) and b + scale * z_b to the initial parameters.
    """

    def __init__(self, hw_embed_dim: int = 10, layer_size: int = 100, hidden: int = 10, scale: float = 0.01):
        super().__init__()
        self.widths = [2 * layer_size] * len(HEAD_LAYERS)
        self.size = sum(self.widths) + len(HEAD_LAYERS)
        self.scale = scale
        self.net = nn.Sequential(nn.Linear(hw_embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * self.size))

    def forward(self, hw_embed: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        stats = self.net(hw_embed)
        mu, sigma = stats[: self.size], F.softplus(stats[self.size:])
        q = torch.distributions.Normal(mu, sigma)
        kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(torch.zeros_like(mu),
                                                                              torch.ones_like(mu))).sum()
        return (q.rsample() if sample else mu), kl

    def modulate(self, p: Params, z: torch.Tensor) -> Params:
        out = OrderedDict(p)
        offset = 0
        for i, (name, width) in enumerate(zip(HEAD_LAYERS, self.widths)):
            z_w = z[offset: offset + width]
            offset += width
            out[f"{name}.weight"] = p[f"{name}.weight"] * (1 + self.scale * z_w)
            out[f"{name}.bias"] = p[f"{name}.bias"] + self.scale * z[sum(self.widths) + i]
        return out
