"""Why the README's main job is a needle: where its constrained optimum sits, and how a model of the whole
table would rank it (NB201, CIFAR-10 test accuracy, pixel3, 6.5 ms by default).

    python experiments/first_run_landscape.py [--device pixel3 --budget-ms 6.5]

Prints the optimum, its single-edit neighbours, the cells that compute the same network, and the optimum's rank among the feasible architectures
under two least-squares accuracy models fitted on all 15,625 cells: additive (one-hot edges x operations) and
path encoding (White et al. 2021: one indicator per operation sequence along each input-output path, plus the
one-hot). A model that ranks it low gives a model-based strategy no hint of it.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from hwnas.data import devices
from hwnas.evaluators.nb201_accuracy import NasBench201Accuracy

# the cell's input-output paths as edge indices (edges in NB201 string order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)
PATHS = ([3], [0, 4], [1, 5], [0, 2, 5])
OPS = 5


def one_hot(archs: np.ndarray) -> np.ndarray:
    return np.stack([archs[:, e] == o for e in range(archs.shape[1]) for o in range(OPS)], 1).astype(float)


def path_encoding(archs: np.ndarray) -> np.ndarray:
    columns = [np.all(archs[:, path] == np.array(ops), 1) for path in PATHS
               for ops in itertools.product(range(OPS), repeat=len(path))]
    return np.column_stack([np.stack(columns, 1).astype(float), one_hot(archs)])


def rank_of(features: np.ndarray, accuracy: np.ndarray, feasible: np.ndarray, target: int, ridge: float = 1.0) -> int:
    """1-based rank of `target` among the feasible rows by a ridge fit of accuracy on `features`."""
    centred = accuracy - accuracy.mean()
    weights = np.linalg.solve(features.T @ features + ridge * np.eye(features.shape[1]), features.T @ centred)
    predicted = features @ weights
    rows = np.flatnonzero(feasible)
    return int(np.flatnonzero(rows[np.argsort(-predicted[rows], kind="stable")] == target)[0]) + 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="pixel3")
    parser.add_argument("--budget-ms", type=float, default=6.5)
    args = parser.parse_args(argv)
    space = devices.search_space("nasbench201")
    archs = np.asarray(space.from_index(np.arange(space.size)))
    accuracy = np.asarray(NasBench201Accuracy(space).accuracy(archs), dtype=float)
    latency_ms = devices.latency_ms(space.name, args.device)[space.table_index(archs)]
    feasible = latency_ms <= args.budget_ms
    best = int(np.flatnonzero(feasible)[np.argmax(accuracy[feasible])])
    print(f"{args.device} at {args.budget_ms} ms: {feasible.sum()} of {len(archs)} feasible; optimum "
          f"{tuple(int(v) for v in archs[best])} {space.to_string(archs[best])}: {accuracy[best]:.2f} % at "
          f"{latency_ms[best]:.2f} ms; next best feasible {np.sort(accuracy[feasible])[-2]:.2f} %")
    neighbours = np.flatnonzero((archs != archs[best]).sum(1) == 1)
    over = neighbours[~feasible[neighbours]]
    print(f"{len(neighbours)} single-edit neighbours: {len(over)} over budget ({latency_ms[over].min():.1f}-"
          f"{latency_ms[over].max():.1f} ms, {(accuracy[over] > accuracy[best] - 0.2).sum()} within 0.2 points of "
          f"the optimum or above), {len(neighbours) - len(over)} feasible at most "
          f"{accuracy[neighbours[feasible[neighbours]]].max():.2f} %")
    same = space.index(space.equivalents(tuple(int(v) for v in archs[best])))
    print(f"{len(same)} other cells compute the same network (space.equivalents): {int(feasible[same].sum())} within "
          f"budget, {latency_ms[same].min():.2f}-{latency_ms[same].max():.2f} ms, {accuracy[same].min():.2f}-"
          f"{accuracy[same].max():.2f} %; {int(np.isin(same, neighbours).sum())} of them are single-edit neighbours")
    for name, features in (("additive (one-hot)", one_hot(archs)), ("path encoding", path_encoding(archs))):
        print(f"{name} model of all {len(archs)} cells ranks the optimum "
              f"{rank_of(features, accuracy, feasible, best)} of {feasible.sum()} feasible")


if __name__ == "__main__":
    main()
