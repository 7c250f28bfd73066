"""Optuna's GPSampler fitted on a bounded subset of the history, so an ask costs O(max_trials^3), not O(n^3).

Subset-of-data approximation (Rasmussen & Williams 2006, sec. 8.3.3): once more than `max_trials`
trials are complete, the GP sees the best half of them (feasible first, by objective; for several
objectives by non-dominated rank) and the most recent of the rest. The best ones keep the incumbent
that expected improvement is measured against and the model accurate where improvement is likely;
the recent ones keep it accurate where the search is now, as a trust region does (Eriksson et al.
2019, TuRBO). Everything else (kernel, priors, constrained log-EI, acquisition optimiser) is Optuna's;
`max_trials=None` is exactly `optuna.samplers.GPSampler`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from hwnas.core.errors import HwnasError


class SubsetGPSampler(optuna.samplers.GPSampler):
    """`GPSampler` whose model is fitted on at most `max_trials` complete trials (None: all of them)."""

    def __init__(self, *, max_trials: int | None = 200, seed: int | None = None,
                 independent_sampler: optuna.samplers.BaseSampler | None = None, n_startup_trials: int = 10,
                 deterministic_objective: bool = False, warn_independent_sampling: bool = True):
        if max_trials is not None and (not isinstance(max_trials, int) or isinstance(max_trials, bool) or max_trials < 2):
            raise HwnasError(f"SubsetGPSampler: max_trials must be an integer >= 2 or null, got {max_trials!r}")
        super().__init__(seed=seed, independent_sampler=independent_sampler, n_startup_trials=n_startup_trials,
                         deterministic_objective=deterministic_objective,
                         warn_independent_sampling=warn_independent_sampling)
        self.max_trials = max_trials

    def sample_relative(self, study, trial: FrozenTrial, search_space: dict) -> dict[str, Any]:
        if self.max_trials is None:
            return super().sample_relative(study, trial, search_space)
        complete = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=False)  # noqa: SLF001
        if len(complete) <= self.max_trials:
            return super().sample_relative(study, trial, search_space)
        keep = {t.number for t in subset(complete, self.max_trials, study.directions)}
        return super().sample_relative(_SubsetView(study, keep), trial, search_space)


def subset(trials: list[FrozenTrial], size: int, directions: list[StudyDirection]) -> list[FrozenTrial]:
    """The best `size // 2` trials by `_rank`, then the most recent others up to `size`, in trial order."""
    order = np.lexsort(_rank(trials, directions)[::-1])
    best = set(order[: size // 2].tolist())
    recent = [i for i in range(len(trials) - 1, -1, -1) if i not in best][: size - len(best)]
    return [trials[i] for i in sorted(best | set(recent))]


def _rank(trials: list[FrozenTrial], directions: list[StudyDirection]) -> list[np.ndarray]:
    """Sort keys, most significant first: total constraint violation (0 if feasible), then the
    objective (single) or the non-dominated front index (several), then the trial number."""
    signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions])
    losses = np.array([t.values for t in trials], dtype=float) * signs
    violation = np.array([sum(max(0.0, float(v)) for v in t.constraints.values()) for t in trials])
    quality = losses[:, 0] if losses.shape[1] == 1 else _front_index(losses)
    return [violation, quality, np.arange(len(trials))]


def _front_index(losses: np.ndarray) -> np.ndarray:
    """Non-dominated sorting (Deb et al. 2002): 0 for the Pareto front, 1 for the next front, ..."""
    below = np.all(losses[:, None, :] <= losses[None, :, :], axis=2)
    dominates = below & np.any(losses[:, None, :] < losses[None, :, :], axis=2)   # [i, j]: i dominates j
    index = np.full(len(losses), -1)
    remaining = np.ones(len(losses), bool)
    front = 0
    while remaining.any():
        dominated = np.any(dominates[np.ix_(remaining, remaining)], axis=0)
        members = np.flatnonzero(remaining)[~dominated]
        index[members] = front
        remaining[members] = False
        front += 1
    return index


class _SubsetView:
    """The study as GPSampler reads it, with complete trials limited to `keep` (trial numbers); running
    trials and everything else pass through to the real study."""

    def __init__(self, study, keep: set[int]):
        self._study, self._keep = study, keep

    def __getattr__(self, name: str):
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)  # noqa: SLF001
        return [t for t in trials if t.state != TrialState.COMPLETE or t.number in self._keep]
