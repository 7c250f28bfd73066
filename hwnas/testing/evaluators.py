"""The evaluator contract: every check takes a factory `make(space) -> Evaluator` and a space it serves.

    from hwnas.testing import check_evaluator
    check_evaluator(lambda space: MyAccuracy(space), NasBench201())
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hwnas.core.space import SearchSpace
from hwnas.testing._support import as_tuples, draw_archs, expect_hwnas_error, malformed_archs, run_checks
from hwnas.testing.factories import EvaluatorFactory
from hwnas.testing.toys import UnsupportedToySpace

#: archs per check: evaluators may build a network per arch (zero-cost proxies), so keep it small
PROBES = 6


def _scores(evaluator, archs) -> np.ndarray:
    return np.asarray(evaluator.accuracy(archs))


def check_shapes(make: EvaluatorFactory, space: SearchSpace) -> None:
    """accuracy gives one finite float per arch, for a matrix and for a list of tuples."""
    archs = draw_archs(space, PROBES, seed=0)
    evaluator = make(space)
    scores = _scores(evaluator, archs)
    assert scores.shape == (len(archs),), f"shape {scores.shape}, expected ({len(archs)},)"
    assert np.issubdtype(scores.dtype, np.floating), f"dtype {scores.dtype} is not floating"
    assert np.isfinite(scores).all(), f"non-finite scores: {scores}"
    np.testing.assert_allclose(_scores(evaluator, as_tuples(archs)), scores, rtol=1e-9,
                               err_msg="a list of tuples and the same archs as a matrix disagree")


def check_batch_consistency(make: EvaluatorFactory, space: SearchSpace) -> None:
    """A batch and its archs one by one give the same numbers (on a fresh evaluator: a cache of scores
    must not hide a difference)."""
    archs = draw_archs(space, PROBES, seed=1)
    whole = _scores(make(space), archs)
    fresh = make(space)
    singles = np.array([float(_scores(fresh, archs[i:i + 1])[0]) for i in range(len(archs))])
    np.testing.assert_allclose(singles, whole, rtol=1e-6, atol=1e-9, err_msg="one-by-one differs from the batch")


def check_determinism(make: EvaluatorFactory, space: SearchSpace) -> None:
    """Two evaluators built alike score alike, and asking twice gives the same answer."""
    archs = draw_archs(space, PROBES, seed=2)
    first, second = make(space), make(space)
    a = _scores(first, archs)
    np.testing.assert_allclose(_scores(second, archs), a, rtol=1e-6, atol=1e-9,
                               err_msg="two evaluators built alike score differently")
    np.testing.assert_array_equal(_scores(first, archs), a, err_msg="asking twice gives different answers")


def check_labels(make: EvaluatorFactory, space: SearchSpace) -> None:
    """`metric` says what the number is (a non-empty one-line string); `is_proxy` is a bool."""
    evaluator = make(space)
    metric = evaluator.metric
    assert isinstance(metric, str) and metric.strip(), f"metric is {metric!r}, expected a non-empty string"
    assert "\n" not in metric, "metric spans several lines"
    assert isinstance(evaluator.is_proxy, bool), f"is_proxy is {evaluator.is_proxy!r}, expected a bool"


def check_malformed_arch(make: EvaluatorFactory, space: SearchSpace) -> None:
    """Too few choices, an out-of-range or a negative choice raises a one-line HwnasError."""
    evaluator = make(space)
    for label, bad in malformed_archs(space):
        expect_hwnas_error(f"accuracy of {label}", lambda: evaluator.accuracy([bad]))


def check_unsupported_space(make: EvaluatorFactory, space: SearchSpace) -> None:
    """A space the evaluator cannot score is refused (when built or asked) with a one-line HwnasError."""
    expect_hwnas_error("an unsupported space", lambda: make(UnsupportedToySpace()).accuracy([(0, 0, 0)]))


EVALUATOR_CHECKS: dict[str, Callable[[EvaluatorFactory, SearchSpace], None]] = {
    "shapes": check_shapes,
    "determinism": check_determinism,
    "batch_consistency": check_batch_consistency,
    "labels": check_labels,
    "malformed_arch": check_malformed_arch,
    "unsupported_space": check_unsupported_space,
}


def check_evaluator(make: EvaluatorFactory, space: SearchSpace) -> None:
    """Run every evaluator check; the first failure raises AssertionError naming the check."""
    run_checks("evaluator", EVALUATOR_CHECKS, make, space)
