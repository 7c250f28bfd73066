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


def test_a_restricted_space_keeps_the_base_spaces_constants(tmp_path):
    # Caches keyed on a space's constants (SynFlow, operator tables) must not split between a space and its
    # restriction: with restrict_to_table the FBNet scores were once cached under num_classes=None.
    from hwnas.evaluators.zero_cost import SynFlowProxy
    from hwnas.search_spaces.fbnet import FBNet

    base = FBNet(num_classes=100)
    sub = TableSubspace(base, [0, 1, 2])
    assert sub.num_classes == 100 and sub.operators() == base.operators()
    assert (SynFlowProxy(sub, cache_dir=str(tmp_path)).cache_file
            == SynFlowProxy(base, cache_dir=str(tmp_path)).cache_file)
    import copy
    assert copy.deepcopy(sub).num_classes == 100
