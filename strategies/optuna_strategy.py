"""Any Optuna 5 sampler behind the ask/tell strategy interface: TPE (Bergstra et al. 2011; Watanabe
2023), GP-based Bayesian optimisation (Gardner et al. 2014 for the constraint), NSGA-II (Deb et al. 2002).

Each dimension of the space is one categorical parameter. The constrained objective maximises accuracy
with the latency violation given to Optuna's own constraint support (`trial.set_constraint`); the
`pareto` objective maximises accuracy and minimises latency. By default the study is in memory (an
SQLite study cost 20x more per ask+tell): a killed run is resumed by the loop replaying this seeded
strategy from the start against the journal, so the resumed run equals the uninterrupted one. With an
RDB URL (`storage=sqlite:///...`, PostgreSQL shared by several workers) the study is restored from the
storage instead. The sampler is re-seeded before every call from (seed, this worker's trial count).
"""

from __future__ import annotations

import datetime
import math
from collections import deque
from typing import Any, Mapping

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from hwnas.core.errors import HwnasError, true_or_false, whole_number
from hwnas.core.records import STUDY_RESULT_ATTR, STUDY_WORKER_ATTR
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy, Trial, check_objective
from hwnas.strategies.optuna_revised import RevisedSampler
from hwnas.strategies.optuna_support import derived_seed, open_storage, reseed, sampler_factory

optuna.logging.set_verbosity(optuna.logging.WARNING)

CONSTRAINT = "latency_ms"        # the constraint key: violation_ms = latency_ms - budget_ms (<= 0 feasible)
WORKER_ATTR, TRIAL_ATTR = STUDY_WORKER_ATTR, "hwnas_trial"
RESULT_ATTR = STUDY_RESULT_ATTR  # arch string, latency, violation, feasibility, accuracy: what optuna-dashboard shows
FALLBACKS = ("neighbour", "random", "none")
SCREENED = ("fail", "impute", "nearest")


class OptunaStrategy(Strategy):
    """An Optuna study behind ask/tell; `sampler` is a node naming the sampler class by `_target_`.

    Repeats: when the sampler proposes an architecture this worker already knows, that proposal is
    closed as FAIL (the sampler learns nothing twice, a GP gets no duplicate point) and, after
    `resample_repeats` further sampler calls, `repeat_fallback` proposes instead an unseen neighbour
    of it (one choice changed), a uniformly random unseen architecture, or (`none`) the repeat itself.
    `reask_unchanged: false` (GP) stops calling the sampler once it has repeated a proposal, until a
    trial completes: a GP fitted on the same trials proposes the same point again, so such a call only
    costs a fit; the fallback continues from that repeat instead.
    Screened trials (accuracy NaN: not evaluated, over budget by the cheap oracle) are recorded as FAIL
    (`screened: fail`, better TPE regret in docs/strategies.md), or as complete with their violation and
    an imputed accuracy: the worst told so far (`impute`), or the mean accuracy of the nearest evaluated
    architectures by Hamming distance (`nearest`: a cheap "kriging believer", Ginsbourger et al. 2010,
    so that a GP's constraint model learns where the budget ends without its accuracy model being dragged
    down there).
    """

    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0, *,
                 sampler: Mapping[str, Any] | None = None, sampler_settings: Mapping[str, Any] | None = None,
                 storage: str | None = None, study_name: str = "hwnas", worker: str = "main",
                 objective: str = "constrained", resample_repeats: int = 0, repeat_fallback: str = "neighbour",
                 screened: str = "fail", reask_unchanged: bool = True):
        super().__init__(space, budget_ms, seed)
        self.in_memory = storage is None or not str(storage).strip()  # resumed by replay (see resume)
        storage = None if self.in_memory else str(storage)
        self.objective = check_objective(objective)
        if repeat_fallback not in FALLBACKS:
            raise HwnasError(f"unknown repeat_fallback {repeat_fallback!r}; valid: {', '.join(FALLBACKS)}")
        if screened not in SCREENED:
            raise HwnasError(f"unknown screened {screened!r}; valid: {', '.join(SCREENED)}")
        self.resample_repeats = whole_number("optuna strategy", "resample_repeats", resample_repeats, 0)
        self.repeat_fallback, self.screened = repeat_fallback, screened
        self.reask_unchanged = true_or_false("optuna strategy", "reask_unchanged", reask_unchanged)
        self._make_sampler = sampler_factory(sampler or {"_target_": "optuna.samplers.TPESampler"}, sampler_settings)
        self._names = [d.name for d in space.dimensions()]
        # choices by name (what optuna-dashboard shows); samplers work on their index, so proposals are unchanged
        self._distributions = {d.name: CategoricalDistribution(list(d.choices)) for d in space.dimensions()}
        self._index = {d.name: {c: i for i, c in enumerate(d.choices)} for d in space.dimensions()}
        directions = ["maximize"] if objective == "constrained" else ["maximize", "minimize"]
        try:
            self._sampler = self._make_sampler(seed)
            self.study = optuna.create_study(storage=open_storage(storage), study_name=study_name, load_if_exists=True,
                                             directions=directions, sampler=self._sampler)
        except HwnasError:
            raise
        except ValueError as exc:  # e.g. an existing study with other directions
            raise HwnasError(f"Optuna study {study_name!r} in {storage}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - storage URLs fail in many driver-specific ways
            raise HwnasError(f"cannot open Optuna storage {storage!r}: {type(exc).__name__}: {exc}") from None
        self.worker = str(worker)
        self._asked = 0                       # the loop's asks so far (its trial index)
        self._sampled = 0                     # this worker's trials in the study (seeds the sampler)
        self._known: dict[Arch, Trial] = {}   # results of every architecture this worker has told
        self._in_flight: set[Arch] = set()    # asked, not yet told
        self._others: set[Arch] = set()       # asked or told by other workers of a shared study
        self._evaluated: list[Arch] = []      # evaluated architectures and their accuracies, in tell order
        self._evaluated_accuracy: list[float] = []
        self._outstanding: deque = deque()    # optuna.trial.Trial handles awaiting tell, in ask order
        self._pending: deque = deque()        # RUNNING trials left by a kill, proposed again first
        self._stale: tuple[int, Arch] | None = None  # (complete trials, the sampler's repeat with that data)
        # trials of this worker left by an earlier run: only resume() may continue them
        self._foreign = any(t.user_attrs.get(WORKER_ATTR) == self.worker for t in self.study.get_trials(deepcopy=False))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int = 1) -> list[Arch]:
        if self._foreign:
            raise HwnasError(f"Optuna study {self.study.study_name!r} already holds trials of worker "
                             f"{self.worker!r}; pass resume=true to continue them, or name this worker "
                             "differently (strategy.worker=...)")
        out = []
        for _ in range(n):
            if self._pending:
                handle, indexed = self._pending.popleft()
                if not indexed:
                    self._visible(handle)
            else:
                handle = self._propose()
            self._outstanding.append(handle)
            arch = self._arch(handle)
            self._in_flight.add(arch)
            out.append(arch)
        return out

    def _seen(self, arch: Arch) -> bool:
        arch = self.space.canonical(arch)
        return arch in self._known or arch in self._in_flight or arch in self._others

    def _refresh_others(self) -> None:
        """Architectures other workers of a stored (shared) study have asked or told: proposed by this worker
        they count as repeats, so no architecture is evaluated by two workers (none in an in-memory study)."""
        if self.in_memory:
            return
        for t in self.study.get_trials(deepcopy=False):
            if t.user_attrs.get(WORKER_ATTR, self.worker) != self.worker and len(t.params) == len(self._names):
                arch = self.arch_of_params(t.params)
                if -1 not in arch:
                    self._others.add(self.space.canonical(arch))

    def _propose(self) -> optuna.trial.Trial:
        """One proposal: the sampler's, unless it is a repeat (see the class docstring)."""
        self._refresh_others()
        if self._stale is not None and self._stale[0] == self._complete_count():
            arch = self._stale[1]  # the sampler's data has not changed since it repeated this: skip the call
        else:
            self._stale = None
            for attempt in range(self.resample_repeats + 1):
                derived = derived_seed(self.seed, self._sampled)
                reseed(self._sampler, derived)
                self.study.sampler = self._revised_sampler()
                handle = self._ask_sampler()
                self._sampled += 1
                arch = self._arch(handle)
                if self.repeat_fallback == "none" or not self._seen(arch):
                    return self._visible(handle)
                self.study.tell(handle, state=TrialState.FAIL)  # a repeat: closed at once, never seen by the loop
            if not self.reask_unchanged:
                self._stale = (self._complete_count(), arch)
        rng = np.random.default_rng(derived_seed(self.seed, self._sampled))
        alternative = self._unseen_near(arch, rng) if self.repeat_fallback == "neighbour" else None
        alternative = alternative or self._random_unseen(rng)
        if alternative is None:  # (almost) everything seen: let the loop answer the repeat from its cache
            alternative = arch
        return self._create(alternative)

    def _complete_count(self) -> int:
        return len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    def _ask_sampler(self) -> optuna.trial.Trial:
        """`study.ask(fixed_distributions)`, but the trial carries this worker's name from its creation,
        so a kill at any point leaves no trial that resume cannot attribute."""
        self.study._thread_local.cached_all_trials = None  # noqa: SLF001 - sync with the storage, as study.ask does
        trial_id = self.study._storage.create_new_trial(  # noqa: SLF001
            self.study._study_id, template_trial=self._template({WORKER_ATTR: self.worker}))  # noqa: SLF001
        handle = optuna.trial.Trial(self.study, trial_id)
        for name, distribution in self._distributions.items():
            handle.suggest_categorical(name, distribution.choices)
        return handle

    def _template(self, user_attrs: dict, arch: Arch | None = None) -> FrozenTrial:
        return FrozenTrial(
            number=-1, state=TrialState.RUNNING, value=None, datetime_start=datetime.datetime.now(),
            datetime_complete=None, params={} if arch is None else self._params(arch),
            distributions={} if arch is None else self._distributions, user_attrs=user_attrs, system_attrs={},
            intermediate_values={}, trial_id=-1)

    def _visible(self, handle: optuna.trial.Trial) -> optuna.trial.Trial:
        handle.set_user_attr(TRIAL_ATTR, self._asked)
        self._asked += 1
        return handle

    def _create(self, arch: Arch) -> optuna.trial.Trial:
        """A RUNNING trial with the given architecture, created in one storage write (no sampler call)."""
        template = self._template({WORKER_ATTR: self.worker, TRIAL_ATTR: self._asked}, arch)
        trial_id = self.study._storage.create_new_trial(self.study._study_id, template_trial=template)  # noqa: SLF001
        self._sampled += 1
        self._asked += 1
        return optuna.trial.Trial(self.study, trial_id)

    def _arch(self, handle) -> Arch:
        return tuple(self._index[name][handle.params[name]] for name in self._names)

    def _params(self, arch: Arch) -> dict:
        """An architecture as the study's parameters: each dimension's choice by name."""
        return {name: self._distributions[name].choices[int(i)] for name, i in zip(self._names, arch)}

    def arch_of_params(self, params: Mapping[str, Any]) -> Arch:
        """A trial's parameters as an architecture; -1 where a parameter is missing."""
        return tuple(self._index[name].get(params[name], -1) if name in params else -1 for name in self._names)

    def _unseen_near(self, arch: Arch, rng: np.random.Generator) -> Arch | None:
        """An unseen architecture one mutation away (two if all neighbours tried are seen)."""
        for steps in (1, 2):
            for _ in range(16 * steps):
                candidate = arch
                for _ in range(steps):
                    candidate = self.space.mutate(candidate, rng)
                if not self._seen(candidate):
                    return candidate
        return None

    def _random_unseen(self, rng: np.random.Generator) -> Arch | None:
        for arch in self.space.sample(rng, 64):
            if not self._seen(arch):
                return arch
        return None

    def tell(self, trials: list[Trial]) -> None:
        for trial in trials:
            self._remember(trial)
            if self._outstanding:
                handle = self._outstanding.popleft()
                self._in_flight.discard(self._arch(handle))
                self._finish(handle, trial)
            else:  # history the strategy did not ask for: add it as a finished trial
                self._add(trial, self._asked)
                self._asked += 1
                self._sampled += 1

    def _remember(self, trial: Trial) -> None:
        self._known.setdefault(self.space.canonical(trial.arch), trial)
        if trial.evaluated:
            self._evaluated.append(tuple(trial.arch))
            self._evaluated_accuracy.append(float(trial.accuracy))

    def revise(self, trials: list[Trial]) -> None:
        """Corrected violations for told architectures: the sampler reads them in place of the told ones."""
        revisions = getattr(self, "_revisions", {})
        revisions.update({self.space.canonical(t.arch): float(t.violation_ms) for t in trials})
        self._revisions = revisions

    def _revised_sampler(self):
        revisions = getattr(self, "_revisions", None)
        if not revisions or self.objective != "constrained":
            return self._sampler
        return RevisedSampler(self._sampler, revisions, self.arch_of_params, CONSTRAINT)

    # ------------------------------------------------------------------ resume
    def resume(self, history: list[Trial]) -> bool:
        """In memory: False, so the loop replays this seeded strategy against the journal (exact, even after
        a kill inside an ask). With an RDB storage: finish this worker's trials that were evaluated but not
        told; re-propose the others first; re-add the journaled trials the storage lost (one pass in history
        order); the continuation then depends on the storage's state, so it is not guaranteed exact."""
        if self.in_memory:
            return False
        own = [t for t in self.study.get_trials(deepcopy=False) if t.user_attrs.get(WORKER_ATTR) == self.worker]
        visible = {int(t.user_attrs[TRIAL_ATTR]): t for t in own if int(t.user_attrs.get(TRIAL_ATTR, -1)) >= 0}
        for index, trial in enumerate(history):
            self._remember(trial)
            stored = visible.get(index)
            if stored is None:  # the storage lost it (an in-memory study, a deleted file): from the journal
                self._add(trial, index)
            elif stored.state == TrialState.RUNNING:  # evaluated and journaled, not yet told
                self._finish(optuna.trial.Trial(self.study, stored._trial_id), trial)  # noqa: SLF001
        for index in sorted(i for i in visible if i >= len(history)):  # asked, never evaluated: asked again first
            if visible[index].state == TrialState.RUNNING:
                handle = optuna.trial.Trial(self.study, visible[index]._trial_id)  # noqa: SLF001
                self._pending.append((handle, True))
                self._in_flight.add(self._arch(handle))
        for trial in own:  # killed inside an ask, after the sampler's proposal: continue as that ask would have
            if trial.state == TrialState.RUNNING and int(trial.user_attrs.get(TRIAL_ATTR, -1)) < 0:
                arch = self.arch_of_params(trial.params)
                if -1 in arch or self._seen(arch):
                    self.study.tell(trial.number, state=TrialState.FAIL)
                else:
                    self._pending.append((optuna.trial.Trial(self.study, trial._trial_id), False))  # noqa: SLF001
                    self._in_flight.add(arch)
        self._asked = max(max(visible, default=-1) + 1, len(history))
        self._sampled = len(own) + sum(i not in visible for i in range(len(history)))
        self._foreign = False
        return True

    # ------------------------------------------------------------------ helpers
    def _values(self, trial: Trial) -> list[float] | None:
        """What the study records; None: the trial is recorded as FAIL."""
        accuracy = trial.accuracy
        if not trial.evaluated:  # screened: the loop put it over budget by the oracle, accuracy NaN
            if self.objective != "constrained" or self.screened == "fail":
                return None
            if self.screened == "nearest":
                accuracy = self._nearest_accuracy(trial.arch)
                if not math.isfinite(accuracy):  # nothing evaluated yet to believe: FAIL
                    return None
            else:
                accuracy = min(self._evaluated_accuracy, default=0.0)  # the worst told so far
        return [accuracy] if self.objective == "constrained" else [accuracy, trial.latency_ms]

    def _nearest_accuracy(self, arch: Arch) -> float:
        """Mean accuracy of the evaluated architectures at the smallest Hamming distance from `arch`."""
        if not self._evaluated:
            return math.nan
        distance = (np.asarray(self._evaluated) != np.asarray(arch)).sum(axis=1)
        return float(np.asarray(self._evaluated_accuracy)[distance == distance.min()].mean())

    def _constraints(self, trial: Trial) -> dict[str, float] | None:
        return {CONSTRAINT: trial.violation_ms} if self.objective == "constrained" else None

    def _add(self, trial: Trial, index: int) -> None:
        values = self._values(trial)
        self.study.add_trial(optuna.trial.create_trial(
            params=self._params(trial.arch), distributions=self._distributions, values=values,
            state=TrialState.COMPLETE if values is not None else TrialState.FAIL,
            user_attrs={WORKER_ATTR: self.worker, TRIAL_ATTR: index, RESULT_ATTR: self._result(trial)},
            constraints=self._constraints(trial) if values is not None else None))

    def _result(self, trial: Trial) -> dict:
        """What a study browser (optuna-dashboard) shows of a trial: the architecture and its latency."""
        return {"arch": self.space.to_string(trial.arch), "latency_ms": float(trial.latency_ms),
                "violation_ms": float(trial.violation_ms), "feasible": bool(trial.feasible),
                "accuracy": float(trial.accuracy) if trial.evaluated else None}

    def _finish(self, handle: optuna.trial.Trial, trial: Trial) -> None:
        handle.set_user_attr(RESULT_ATTR, self._result(trial))  # one storage write per trial
        values = self._values(trial)
        if values is None:
            self.study.tell(handle, state=TrialState.FAIL)
            return
        if self.objective == "constrained":
            handle.set_constraint(CONSTRAINT, trial.violation_ms)
        self.study.tell(handle, values)
