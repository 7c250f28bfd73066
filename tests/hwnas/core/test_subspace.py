"""Searching inside a device's table (TableSubspace)."""

from __future__ import annotations

import numpy as np

from hwnas.data import devices
from hwnas.core.subspace import TableSubspace


def test_restricted_space_only_yields_covered_archs(nb201, rng):
    rows = devices.coverage("nasbench201", "rice_fpga")
    sub = TableSubspace(nb201, rows)
    assert sub.size == 1_999 and sub.exhaustively_tabled
    samples = sub.sample(rng, 50)
    children = [sub.mutate(a, rng) for a in samples]
    crosses = [sub.crossover(a, b, rng) for a, b in zip(samples, children)]
    for archs in (samples, children, crosses):
        assert np.isin(nb201.index(archs), rows).all()
    assert all(c != a for a, c in zip(samples, children))


def test_uncovered_proposals_snap_to_the_nearest_covered_arch(nb201):
    rows = devices.coverage("nasbench201", "rice_fpga")
    sub = TableSubspace(nb201, rows)
    outside = nb201.from_index([int(np.setdiff1d(np.arange(15_625), rows)[0])])[0]
    snapped = sub.canonical(outside)
    assert nb201.index([snapped])[0] in rows
    distances = (nb201.table_archs()[rows] != np.array(outside)).sum(1)
    assert sum(x != y for x, y in zip(snapped, outside)) == distances.min()
