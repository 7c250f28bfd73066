"""The strategy contract, on the toy space (known optimum) through the real search loop.

    from hwnas.testing import check_strategy
    check_strategy(lambda space, budget_ms, seed, run_dir: MyStrategy(space, budget_ms, seed))

`run_dir` is the run folder a strategy may keep durable state in (an Optuna study), or None: in memory.
"""

from __future__ import annotations

import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from hwnas.core.strategy import Strategy, Trial
from hwnas.engine.journal import Journal
from hwnas.engine.ledger import CostLedger
from hwnas.engine.loop import SearchResult, run_search
from hwnas.testing._support import run_checks
from hwnas.testing.factories import StrategyFactory
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace

#: the latency budget of every check, as a percentile of the toy space's latencies (a quarter feasible)
BUDGET_PERCENTILE = 25
#: distinct evaluations a strategy gets to end feasible, and the length of the resumed run
EVALUATIONS = 30


class _Interrupted(Exception):
    """Raised from the progress callback: a kill in the middle of a run."""


@contextmanager
def _strategy(make: StrategyFactory, space: ToySpace, seed: int = 0,
              run_dir: Path | None = None) -> Iterator[Strategy]:
    """A strategy on the toy space's budget (state in `run_dir`, or in memory when None); closed after."""
    strategy = make(space, space.budget_at(BUDGET_PERCENTILE), seed, run_dir)
    try:
        yield strategy
    finally:
        strategy.close()


def _told(space: ToySpace, archs, screen: bool = False) -> list[Trial]:
    """Trials with the toy's true results; with `screen`, over-budget ones have accuracy NaN."""
    budget = space.budget_at(BUDGET_PERCENTILE)
    out = []
    for arch, acc, lat in zip(archs, space.accuracy(archs), space.latency_ms(archs)):
        over = screen and lat > budget
        out.append(Trial(tuple(arch), float("nan") if over else float(acc), float(lat), float(lat - budget)))
    return out


def _assert_asked(space: ToySpace, archs, n: int) -> None:
    assert isinstance(archs, list) and len(archs) == n, f"ask({n}) gave {archs!r}"
    for arch in archs:
        assert isinstance(arch, tuple) and all(isinstance(v, int) for v in arch), \
            f"ask gave {arch!r}, expected a tuple of ints"
        assert space.validate(arch) == arch, f"ask gave {arch}, which is not a valid canonical arch"


def _session(make: StrategyFactory, space: ToySpace, seed: int, screen: bool) -> list:
    """Proposals of a short ask/tell session (batches of 1, 3, 2 and 3; with `screen`, some screened)."""
    asked = []
    with _strategy(make, space, seed) as strategy:
        for i, n in enumerate((1, 3, 2, 3)):
            archs = strategy.ask(n)
            _assert_asked(space, archs, n)
            strategy.tell(_told(space, archs, screen=screen and i % 2 == 1))
            asked += archs
        return asked + strategy.ask(2)


def check_ask(make: StrategyFactory, space: ToySpace) -> None:
    """ask(n) returns n valid canonical archs, before and after being told results."""
    _session(make, space, 0, screen=False)


def check_tell_any(make: StrategyFactory, space: ToySpace) -> None:
    """tell accepts trials it did not ask for, screened ones (accuracy NaN) and infeasible ones, with
    no runtime warning, and the strategy still proposes valid archs."""
    rng = np.random.default_rng(1)
    latency = space.latency_ms(space.all_archs())
    slow = [tuple(int(v) for v in a) for a in space.all_archs()[np.argsort(latency)[-4:]]]
    with _strategy(make, space, 0) as strategy, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        strategy.tell(_told(space, space.sample(rng, 3)))           # history before any ask
        strategy.tell(_told(space, slow[:2]))                       # infeasible, evaluated
        strategy.tell(_told(space, slow[2:], screen=True))          # infeasible, screened: accuracy NaN
        for _ in range(3):
            archs = strategy.ask(2)
            _assert_asked(space, archs, 2)
            strategy.tell(_told(space, archs, screen=True))
            strategy.tell(_told(space, space.sample(rng, 1)))       # unasked trials between asks
        _assert_asked(space, strategy.ask(3), 3)
    bad = [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))]
    assert not bad, f"tell warned: {bad[0].category.__name__}: {bad[0].message}"


def check_seeded(make: StrategyFactory, space: ToySpace) -> None:
    """The same seed proposes the same archs (also after screened trials); another seed proposes others."""
    first = _session(make, space, 0, screen=True)
    again = _session(make, space, 0, screen=True)
    assert again == first, f"two runs with seed 0 propose differently: {first} vs {again}"
    assert _session(make, space, 1, screen=True) != first, "seeds 0 and 1 propose the same archs"


def _search(make: StrategyFactory, space: ToySpace, run_dir: Path | None = None, journal: Journal | None = None,
            history: list[dict] | None = None, stop_after: int | None = None) -> SearchResult:
    budget = space.budget_at(BUDGET_PERCENTILE)

    def progress(done: int) -> None:
        if stop_after is not None and done >= stop_after:
            raise _Interrupted

    with _strategy(make, space, 3, run_dir) as strategy:
        return run_search(space, strategy, ToyOracle(space), ToyEvaluator(space), budget, EVALUATIONS, CostLedger(),
                          batch_size=2, journal=journal, history=history, progress=progress,
                          max_stale_trials=20 * EVALUATIONS, screen=True)


def check_finds_feasible(make: StrategyFactory, space: ToySpace) -> None:
    """Through the real search loop (screening on), it ends with a feasible best within the evaluations."""
    result = _search(make, space)
    best = result.best
    assert best is not None, "the search evaluated nothing"
    assert best["feasible"], (f"after {EVALUATIONS} evaluations the best is infeasible: {best['arch']} at "
                              f"{best['latency_ms']:.3f} ms (budget {space.budget_at(BUDGET_PERCENTILE):.3f})")
    optimum = space.optimum(space.budget_at(BUDGET_PERCENTILE))[1]
    assert best["accuracy"] <= optimum + 1e-9, f"best accuracy {best['accuracy']} beats the true optimum {optimum}"


def check_resume(make: StrategyFactory, space: ToySpace) -> None:
    """Killed after some evaluations and resumed from its journal (the strategy restores itself or the
    loop replays it), a run proposes exactly what the uninterrupted run did."""
    full = _search(make, space)
    with tempfile.TemporaryDirectory(prefix="hwnas_resume_") as folder:
        run_dir = Path(folder)
        with Journal(run_dir / "trials.jsonl") as journal:
            try:
                _search(make, space, run_dir, journal, stop_after=EVALUATIONS // 3)
            except _Interrupted:
                pass
            else:
                raise AssertionError("the run was never interrupted")
        history = Journal(run_dir / "trials.jsonl").read()
        with Journal(run_dir / "trials.jsonl") as journal, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resumed = _search(make, space, run_dir, journal, history=history)
    diverged = [w for w in caught if "did not reproduce" in str(w.message)]
    assert not diverged, f"replay diverged: {diverged[0].message}"
    archs, expected = [r["arch"] for r in resumed.records], [r["arch"] for r in full.records]
    first = next((i for i, (a, b) in enumerate(zip(archs, expected)) if a != b), min(len(archs), len(expected)))
    assert archs == expected, (f"the resumed run ({resumed.resume_mode or 'not resumed'}, {len(history)} journaled "
                               f"trials) differs from the uninterrupted one from trial {first} on")


STRATEGY_CHECKS: dict[str, Callable[[StrategyFactory, ToySpace], None]] = {
    "ask": check_ask,
    "tell_any": check_tell_any,
    "seeded": check_seeded,
    "finds_feasible": check_finds_feasible,
    "resume": check_resume,
}


def check_strategy(make: StrategyFactory, space: ToySpace | None = None) -> None:
    """Run every strategy check on `space` (default: a 256-arch toy space); the first failure raises
    AssertionError naming the check."""
    space = space or ToySpace(4, 4)
    run_checks("strategy", STRATEGY_CHECKS, make, space)
