"""Corrected latency constraints for an Optuna study whose finished trials cannot be rewritten.

When the loop refits its oracle (`refine=true`), the latency violation told with a finished trial is
out of date, and Optuna's storages refuse to change a finished trial. `RevisedSampler` wraps the
study's sampler and shows it the study with the corrected violations in place of the told ones, so
TPE, GP and NSGA-II read the corrected constraint without a duplicate trial; the storage keeps what
was told (a resumed run re-applies the corrections from its journal).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

import optuna
from optuna.trial import FrozenTrial, TrialState

CONSTRAINT_PREFIX = "constraints:"   # Optuna's system-attribute key of `trial.set_constraint(name, value)`


class RevisedSampler(optuna.samplers.BaseSampler):
    """`inner`, reading each complete trial's constraint `name` from `violations` (arch -> violation_ms)."""

    def __init__(self, inner: optuna.samplers.BaseSampler, violations: Mapping[tuple, float],
                 arch_of: Callable[[Mapping[str, Any]], tuple], constraint: str):
        self.inner, self.violations, self.arch_of = inner, violations, arch_of
        self.key = CONSTRAINT_PREFIX + constraint

    def _view(self, study):
        return _RevisedView(study, self)

    def revised(self, trial: FrozenTrial) -> FrozenTrial:
        if trial.state != TrialState.COMPLETE or self.key not in trial.system_attrs:
            return trial
        arch = self.arch_of(trial.params)
        value = self.violations.get(arch)
        if value is None:
            return trial
        patched = copy.copy(trial)
        patched._system_attrs = {**trial.system_attrs, self.key: float(value)}  # noqa: SLF001 - a read-only copy
        return patched

    def infer_relative_search_space(self, study, trial):
        return self.inner.infer_relative_search_space(self._view(study), trial)

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        return self.inner.sample_relative(self._view(study), trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.inner.sample_independent(self._view(study), trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self.inner.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


class _RevisedView:
    """The study as a sampler reads it: trials with corrected constraints; everything else passes through."""

    def __init__(self, study, sampler: RevisedSampler):
        self._study, self._sampler = study, sampler

    def __getattr__(self, name: str):
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)  # noqa: SLF001
        return [self._sampler.revised(t) for t in trials]

    def get_trials(self, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()
