"""The latency-oracle contract: every check raises AssertionError naming what broke.

    from hwnas.testing import check_oracle
    check_oracle(lambda space, device: MyOracle(space, device), NasBench201(), "raspi4")

`ORACLE_CHECKS` lists the checks by name, so a test suite can parametrize over them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import SearchSpace, as_matrix
from hwnas.testing._support import as_tuples, expect_hwnas_error, malformed_archs, run_checks
from hwnas.testing.batching import own_source_files, per_arch_evidence
from hwnas.testing.factories import OracleFactory
from hwnas.testing.toys import UnsupportedToySpace

#: median predicted / median measured must lie in this band: catches seconds or microseconds for ms
UNIT_RATIO_BAND = (0.2, 5.0)


def adapted(make: OracleFactory, space: SearchSpace, device: str) -> LatencyOracle:
    """Build an oracle and adapt it on its reference archs, measured from the device's table."""
    from hwnas.data import devices
    from hwnas.engine.target import measure_on_target

    oracle = make(space, device)
    references = oracle.reference_archs()
    if references:
        oracle.adapt(references, measure_on_target(space, device, devices.latency_ms(space.name, device),
                                                   references))
    return oracle


def probe_archs(space: SearchSpace, oracle: LatencyOracle, n: int = 64, seed: int = 0) -> np.ndarray:
    """`n` distinct tabled archs the oracle covers (an (n, dims) int matrix), reproducibly drawn."""
    rows = oracle.coverage()
    if rows is None:
        rows = np.arange(len(space.table_archs()))
    rows = np.random.default_rng(seed).choice(rows, size=min(n, len(rows)), replace=False)
    return np.asarray(space.table_archs())[np.sort(rows)]


# ---------------------------------------------------------------------------- the checks
def check_shapes(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """predict_ms gives one finite float per arch, for a list of tuples, a matrix and one arch."""
    oracle = adapted(make, space, device)
    archs = probe_archs(space, oracle)
    from_matrix = np.asarray(oracle.predict_ms(archs))
    assert from_matrix.shape == (len(archs),), f"shape {from_matrix.shape}, expected ({len(archs)},)"
    assert np.issubdtype(from_matrix.dtype, np.floating), f"dtype {from_matrix.dtype} is not floating"
    assert np.isfinite(from_matrix).all(), "non-finite predictions for covered architectures"
    tuples = as_tuples(archs)
    np.testing.assert_allclose(np.asarray(oracle.predict_ms(tuples)), from_matrix, rtol=1e-6,
                               err_msg="a list of tuples and the same archs as a matrix disagree")
    one = np.asarray(oracle.predict_ms(tuples[:1]))
    assert one.shape == (1,), f"one arch gave shape {one.shape}, expected (1,)"


def check_units(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """Predictions are positive milliseconds on the scale of the device's measured table."""
    from hwnas.data import devices

    oracle = adapted(make, space, device)
    archs = probe_archs(space, oracle, n=256)
    predicted = np.asarray(oracle.predict_ms(archs), dtype=float)
    measured = devices.latency_ms(space.name, device)[np.asarray(space.table_index(archs))]
    keep = np.isfinite(measured)
    assert keep.any(), f"{device} has no measurement of the probe architectures"
    ratio = np.median(predicted[keep]) / np.median(measured[keep])
    low, high = UNIT_RATIO_BAND
    assert low <= ratio <= high, (f"median prediction is {ratio:.3g}x the measured median on {device}: "
                                  "not milliseconds?")
    assert (predicted[keep] >= 0).mean() >= 0.99, "more than 1% of predicted latencies are negative"


def check_batch_consistency(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """A batch, its chunks, its archs one by one and a permutation give the same numbers."""
    oracle = adapted(make, space, device)
    archs = probe_archs(space, oracle, n=48)
    whole = np.asarray(oracle.predict_ms(archs), dtype=float)
    chunks = np.concatenate([np.asarray(oracle.predict_ms(archs[i:i + 7]), dtype=float)
                             for i in range(0, len(archs), 7)])
    np.testing.assert_allclose(chunks, whole, rtol=1e-5, atol=1e-6, err_msg="chunked batch differs")
    singles = np.array([float(np.asarray(oracle.predict_ms(archs[i:i + 1]))[0]) for i in range(8)])
    np.testing.assert_allclose(singles, whole[:8], rtol=1e-5, atol=1e-6, err_msg="one-by-one differs")
    order = np.random.default_rng(1).permutation(len(archs))
    np.testing.assert_allclose(np.asarray(oracle.predict_ms(archs[order]), dtype=float), whole[order],
                               rtol=1e-5, atol=1e-6, err_msg="a permuted batch is not permuted output")


def check_determinism(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """Two oracles built with the same config and seed predict the same, and so does a repeat query."""
    first, second = adapted(make, space, device), adapted(make, space, device)
    assert [tuple(a) for a in first.reference_archs()] == [tuple(a) for a in second.reference_archs()], \
        "reference architectures differ between two builds with the same seed"
    archs = probe_archs(space, first)
    a = np.asarray(first.predict_ms(archs), dtype=float)
    np.testing.assert_allclose(np.asarray(second.predict_ms(archs), dtype=float), a, rtol=1e-6, atol=1e-9,
                               err_msg="two builds with the same seed predict differently")
    np.testing.assert_allclose(np.asarray(first.predict_ms(archs), dtype=float), a, rtol=0, atol=0,
                               err_msg="asking twice gives different answers")


def check_adapt_then_predict(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """An adapting oracle asks for a few valid archs and then ranks the device's archs better than
    chance; an oracle that does not adapt asks for none and refuses `adapt` with HwnasError."""
    from scipy.stats import spearmanr

    from hwnas.data import devices

    oracle = make(space, device)
    references = oracle.reference_archs()
    if not references:
        try:
            oracle.adapt(probe_archs(space, oracle, n=2), np.ones(2))
        except HwnasError:
            return
        return  # adapting without references asked for is allowed (an oracle may accept extra data)
    matrix = as_matrix(references)
    assert matrix.shape[1] == len(space.dimensions()), "reference archs have the wrong number of choices"
    for arch in references:
        space.validate(arch)
    adapted_oracle = adapted(make, space, device)
    archs = probe_archs(space, adapted_oracle, n=500, seed=3)
    predicted = np.asarray(adapted_oracle.predict_ms(archs), dtype=float)
    measured = devices.latency_ms(space.name, device)[np.asarray(space.table_index(archs))]
    keep = np.isfinite(measured)
    rho = spearmanr(predicted[keep], measured[keep]).statistic
    assert rho > 0.3, f"after adapting on {len(references)} samples Spearman on {device} is only {rho:.3f}"


def _refused(label: str, build: Callable[[], LatencyOracle]) -> None:
    def use() -> None:
        oracle = build()
        refs = oracle.reference_archs()
        if refs:
            oracle.adapt(refs, np.ones(len(refs)))
        oracle.predict_ms([(0,) * len(oracle.space.dimensions())])

    expect_hwnas_error(label, use)


def check_unsupported_space(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """A space the oracle cannot serve is refused with a one-line HwnasError."""
    _refused("an unsupported space", lambda: make(UnsupportedToySpace(), device))


def check_unknown_device(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """A device name the oracle has no data or backend for is refused with a one-line HwnasError."""
    _refused("an unknown device", lambda: make(space, "no_such_device_xyz"))


def check_malformed_arch(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """Too few choices, an out-of-range or a negative choice raises a one-line HwnasError."""
    oracle = adapted(make, space, device)
    for label, bad in malformed_archs(space):
        expect_hwnas_error(f"predict_ms of {label}", lambda: oracle.predict_ms([bad]))


def check_batched(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """A batch is answered by one batched query, not one query per arch (`hwnas.testing.batching`)."""
    oracle = adapted(make, space, device)
    archs = probe_archs(space, oracle, n=258, seed=7)
    assert len(archs) >= 64, f"only {len(archs)} covered archs: too few to tell a batch from a loop"
    evidence = per_arch_evidence(oracle.predict_ms, space, archs, own_source_files(oracle))
    assert evidence is None, evidence


ORACLE_CHECKS: dict[str, Callable[[OracleFactory, SearchSpace, str], None]] = {
    "shapes": check_shapes,
    "units": check_units,
    "batch_consistency": check_batch_consistency,
    "determinism": check_determinism,
    "adapt_then_predict": check_adapt_then_predict,
    "unsupported_space": check_unsupported_space,
    "unknown_device": check_unknown_device,
    "malformed_arch": check_malformed_arch,
    "batched": check_batched,
}


def check_oracle(make: OracleFactory, space: SearchSpace, device: str) -> None:
    """Run every contract check; the first failure raises AssertionError naming the check."""
    run_checks("oracle", ORACLE_CHECKS, make, space, device)
