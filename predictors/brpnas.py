"""BRP-NAS-style latency predictor: a graph convolutional network on the cell's operation graph,
trained on the few target-device samples only (Dudziak et al. 2020, "BRP-NAS").

The worked example of the plug-in tutorial (docs/plugin_tutorial.md): one file plus
`conf/oracle/brpnas.yaml`. It works on any space that offers `graph(archs) -> (adjacency, features)`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.analysis.conformal import RelativeConformalStd, relative_std
from hwnas.data import devices
from hwnas.measure.timing import TRAINING_THREADS, torch_threads
from hwnas.core.errors import HwnasError, positive_number, whole_number
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace, as_matrix

OWNER = "oracle brpnas"


class BrpNasGCN(RelativeConformalStd, LatencyOracle):
    """GCN over (adjacency + self loops, symmetric normalisation) with the output node as readout.

    BRP-NAS uses 4 GCN layers of 600 units on 900 samples; with ~10 target samples a narrower network
    (default 4 x 64) and weight decay generalise better. Targets are standardised log latencies, so
    predictions stay positive and the loss weighs fast and slow networks alike.
    """

    name = "brpnas"

    def __init__(self, space: SearchSpace, device: str, samples: int = 10, seed: int = 0, hidden: int = 64,
                 layers: int = 4, epochs: int = 300, lr: float = 3e-3, weight_decay: float = 1e-4):
        super().__init__(space, device)
        if not callable(getattr(space, "graph", None)):
            raise HwnasError(f"oracle brpnas needs a space with a graph view (graph(archs)); "
                             f"space {space.name} has none")
        devices.require_device(space.name, device)
        if whole_number(OWNER, "samples", samples) < 2:
            raise HwnasError(f"oracle brpnas needs samples >= 2 target measurements, got {samples}")
        self.samples, self.seed = int(samples), whole_number(OWNER, "seed", seed, 0)
        self.hidden, self.layers, self.epochs = (whole_number(OWNER, key, value, 1) for key, value in
                                                 (("hidden", hidden), ("layers", layers), ("epochs", epochs)))
        self.lr = positive_number(OWNER, "lr", lr)
        self.weight_decay = positive_number(OWNER, "weight_decay", weight_decay, allow_zero=True)
        self._model = None
        self._log_mean = self._log_std = 0.0
        self._samples, self._relative_std = None, None

    def reference_archs(self) -> list[Arch]:
        """`samples` distinct tabled archs the device has, drawn with `seed`."""
        rows = devices.coverage(self.space.name, self.device)
        picked = np.random.default_rng(self.seed).choice(rows, size=min(self.samples, len(rows)), replace=False)
        table = np.asarray(self.space.table_archs())
        return [tuple(int(v) for v in table[r]) for r in np.sort(picked)]

    def adapt(self, archs: Sequence[Arch], latency_ms: np.ndarray) -> None:
        import torch

        latency_ms = np.asarray(latency_ms, dtype=float)
        if len(latency_ms) != len(archs) or len(archs) < 2 or not np.all(latency_ms > 0):
            raise HwnasError(f"oracle brpnas: adapt needs >= 2 archs with positive latencies, one per arch; "
                             f"got {len(archs)} archs and {len(latency_ms)} values")
        adjacency, features = self._tensors(archs)
        log_ms = np.log(latency_ms)
        self._log_mean, self._log_std = float(log_ms.mean()), float(log_ms.std() or 1.0)
        target = torch.as_tensor((log_ms - self._log_mean) / self._log_std, dtype=torch.float32)
        self._model = self._train(adjacency, features, target)
        self._samples, self._relative_std = (adjacency, features, target, latency_ms), None

    def _conformal_scale(self) -> float:
        """Jackknife (Barber et al. 2021): retrain without each sample and predict it; the conformal scale
        of those relative errors. Computed on first use (it costs one training per sample)."""
        import torch

        if self._relative_std is None:
            adjacency, features, target, latency_ms = self._samples
            loo = np.empty(len(latency_ms))
            for i in range(len(latency_ms)):
                keep = torch.as_tensor(np.delete(np.arange(len(latency_ms)), i))
                model = self._train(adjacency[keep], features[keep], target[keep])
                with torch.no_grad(), torch_threads(TRAINING_THREADS):
                    loo[i] = float(model(adjacency[i:i + 1], features[i:i + 1])[0])
            self._relative_std = relative_std(np.exp(loo * self._log_std + self._log_mean), latency_ms)
        return self._relative_std

    def _train(self, adjacency, features, target):
        """Full-batch Adam on standardised log latencies (a handful of samples), seeded."""
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        model = _GCN(features.shape[-1], self.hidden, self.layers, generator)
        optimiser = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        with torch_threads(TRAINING_THREADS):
            for _ in range(self.epochs):
                optimiser.zero_grad()
                loss = torch.nn.functional.mse_loss(model(adjacency, features), target)
                loss.backward()
                optimiser.step()
        return model.eval()

    def predict_ms(self, archs: Sequence[Arch] | np.ndarray) -> np.ndarray:
        import torch

        if self._model is None:
            raise HwnasError("oracle brpnas predicts only after adapt() on target measurements "
                             "(the search pipeline does this)")
        matrix = as_matrix(archs)
        if matrix.size == 0:
            return np.zeros(0)
        with torch.no_grad(), torch_threads(TRAINING_THREADS):
            out = np.concatenate([self._model(*self._tensors(matrix[i:i + 4096])).numpy()
                                  for i in range(0, len(matrix), 4096)])
        return np.exp(out.astype(float) * self._log_std + self._log_mean)

    def _tensors(self, archs):
        import torch

        matrix = as_matrix(archs)
        for arch in matrix[:1]:
            self.space.validate(tuple(arch))
        if matrix.ndim != 2 or matrix.shape[1] != len(self.space.dimensions()):
            raise HwnasError(f"{self.space.name}: architectures need {len(self.space.dimensions())} choices, "
                             f"got shape {matrix.shape}")
        sizes = np.array([len(d) for d in self.space.dimensions()])
        if ((matrix < 0) | (matrix >= sizes)).any():
            raise HwnasError(f"{self.space.name}: a choice is out of range (sizes {sizes.tolist()})")
        adjacency, features = self.space.graph(matrix)
        a = adjacency + np.transpose(adjacency, (0, 2, 1)) + np.eye(adjacency.shape[-1], dtype=np.float32)
        a = np.minimum(a, 1.0)
        inv_sqrt = 1.0 / np.sqrt(a.sum(-1))
        a = a * inv_sqrt[:, :, None] * inv_sqrt[:, None, :]
        return torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(features, dtype=torch.float32)


def _gcn_module():
    import torch

    class GCN(torch.nn.Module):
        """Stacked graph convolutions H <- relu(Â H W); the last node (cell output) reads out."""

        def __init__(self, in_features: int, hidden: int, layers: int, generator):
            super().__init__()
            dims = [in_features] + [hidden] * layers
            self.weights = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
            self.head = torch.nn.Linear(hidden, 1)
            with torch.no_grad():
                for layer in [*self.weights, self.head]:
                    bound = 1.0 / np.sqrt(layer.in_features)
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.zero_()

        def forward(self, adjacency, features):
            h = features
            for layer in self.weights:
                h = torch.relu(adjacency @ layer(h))
            return self.head(h[:, -1]).squeeze(-1)

    return GCN


def _GCN(in_features: int, hidden: int, layers: int, generator):
    return _gcn_module()(in_features, hidden, layers, generator)
