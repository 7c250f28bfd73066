"""Any Optuna 5 sampler behind the ask/tell strategy interface: TPE (Bergstra et al. 2011; Watanabe
2023), GP-based Bayesian optimisation (Gardner et al. 2014 for the constraint), NSGA-II (Deb et al. 2002).

Each dimension of the space is one categorical parameter. The constrained objective maximises accuracy
with the latency violation given to Optuna's own constraint support (`trial.set_constraint`); the
`pareto` objective maximises accuracy and minimises latency. The study lives in Optuna's storage (an
RDB URL: SQLite file, PostgreSQL shared by several workers), so a killed run resumes from it.
The sampler is re-seeded before every ask from (seed, this worker's trial count): a proposal depends
only on the seed and the history in the storage, so a resumed run proposes what the uninterrupted
one would have (exactly for TPE and NSGA-II; GP's warm-started kernel fit may differ slightly).
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections import deque
from typing import Any, Mapping

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from hwnas.errors import HwnasError, unknown_choice
from hwnas.space import Arch, SearchSpace
from hwnas.strategy import Strategy, Trial, check_objective

optuna.logging.set_verbosity(optuna.logging.WARNING)

CONSTRAINT = "latency_ms"        # the constraint key: violation_ms = latency_ms - budget_ms (<= 0 feasible)
WORKER_ATTR, TRIAL_ATTR = "hwnas_worker", "hwnas_trial"


def sampler_factory(sampler: Mapping[str, Any]):
    """Check a sampler node (`_target_` + options) and return `make(seed) -> BaseSampler`."""
    options = {str(k): v for k, v in dict(sampler).items() if not str(k).startswith("_")}
    target = str(dict(sampler).get("_target_", ""))
    valid = sorted(f"optuna.samplers.{n}" for n in optuna.samplers.__all__ if n.endswith("Sampler"))
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise unknown_choice("Optuna sampler", target, valid) from None
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        raise unknown_choice("Optuna sampler", target, valid)
    params = [p for p in inspect.signature(cls).parameters if p not in ("self", "seed")]
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise HwnasError(f"Optuna sampler {class_name}: unknown option {', '.join(unknown)}; "
                         f"valid options: {', '.join(params)}")

    def make(seed: int) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                return cls(**options, seed=seed)
            except (TypeError, ValueError) as exc:
                raise HwnasError(f"Optuna sampler {class_name}: {exc}") from None

    make(0)  # fail now, with a one-line message, on a bad option value
    return make


def _reseed(sampler, seed: int, depth: int = 0) -> None:
    """Seed every random state of a sampler (and of the samplers inside it) in place: one sampler
    object keeps its caches (TPE's search-space intersection) while each ask stays a function of the
    seed and the history. GP's kernel fit, warm-started from the previous ask, is the one exception."""
    from optuna.samplers._lazy_random_state import LazyRandomState

    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed % 2**32)
        elif depth < 3 and type(value).__module__.startswith("optuna.samplers") and hasattr(value, "__dict__"):
            _reseed(value, seed, depth + 1)


def _open_storage(url: str | None):
    """An RDB storage; SQLite in WAL mode with NORMAL sync: each commit reaches the OS (survives kill -9)
    without an fsync per statement, which made every trial cost hundreds of ms on a busy disk."""
    if not url or not str(url).startswith("sqlite:"):
        return url
    from sqlalchemy import event

    rdb = optuna.storages.RDBStorage(str(url))

    @event.listens_for(rdb.engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    rdb.engine.dispose()  # connections opened before the listener reconnect with the pragmas
    return rdb


class OptunaStrategy(Strategy):
    """An Optuna study behind ask/tell; `sampler` is a node naming the sampler class by `_target_`."""

    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0, *,
                 sampler: Mapping[str, Any] | None = None, storage: str | None = None,
                 study_name: str = "hwnas", worker: str = "main", objective: str = "constrained",
                 max_repeats: int = 3):
        super().__init__(space, budget_ms, seed)
        self.objective = check_objective(objective)
        self._make_sampler = sampler_factory(sampler or {"_target_": "optuna.samplers.TPESampler"})
        self._names = [d.name for d in space.dimensions()]
        self._distributions = {d.name: CategoricalDistribution(list(range(len(d)))) for d in space.dimensions()}
        directions = ["maximize"] if objective == "constrained" else ["maximize", "minimize"]
        try:
            self._sampler = self._make_sampler(seed)
            self.study = optuna.create_study(storage=_open_storage(storage), study_name=study_name, load_if_exists=True,
                                             directions=directions, sampler=self._sampler)
        except ValueError as exc:  # e.g. an existing study with other directions
            raise HwnasError(f"Optuna study {study_name!r} in {storage}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - storage URLs fail in many driver-specific ways
            raise HwnasError(f"cannot open Optuna storage {storage!r}: {type(exc).__name__}: {exc}") from None
        self.worker = str(worker)
        self.max_repeats = int(max_repeats)
        self._asked = 0                       # the loop's asks so far (its trial index)
        self._sampled = 0                     # this worker's trials in the study (seeds the sampler)
        self._known: dict[Arch, Trial] = {}   # results of every architecture the study has seen
        self._outstanding: deque = deque()    # optuna.trial.Trial handles awaiting tell, in ask order
        self._pending: deque = deque()        # RUNNING trials left by a kill, proposed again first
        # trials of this worker left by an earlier run: only resume() may continue them
        self._foreign = any(t.user_attrs.get(WORKER_ATTR) == self.worker for t in self.study.get_trials(deepcopy=False))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int = 1) -> list[Arch]:
        if self._foreign:
            raise HwnasError(f"Optuna study {self.study.study_name!r} already holds trials of worker "
                             f"{self.worker!r}; pass resume=true to continue them, or name this worker "
                             "differently (optuna_worker=...)")
        out = []
        for _ in range(n):
            handle = self._pending.popleft() if self._pending else self._propose()
            self._outstanding.append(handle)
            out.append(self._arch(handle))
        return out

    def _propose(self) -> optuna.trial.Trial:
        """Ask the sampler; a proposal the study already knows is answered from its history (recorded,
        not evaluated) and the sampler asked again; after `max_repeats` of them in a row, a uniformly
        random unseen architecture is proposed, so a converged sampler does not stall the search."""
        for attempt in range(self.max_repeats + 1):
            derived = int(np.random.SeedSequence([self.seed, self._sampled]).generate_state(1)[0])
            _reseed(self._sampler, derived)
            self.study.sampler = self._sampler
            if attempt == self.max_repeats and self.max_repeats > 0:
                unseen = self._random_unseen(np.random.default_rng(derived))
                if unseen is not None:
                    self.study.sampler = optuna.samplers.RandomSampler(seed=derived)
                    self.study.enqueue_trial(dict(zip(self._names, unseen)))
            handle = self.study.ask(fixed_distributions=self._distributions)
            self._sampled += 1
            handle.set_user_attr(WORKER_ATTR, self.worker)
            arch = self._arch(handle)
            if arch in self._known and attempt < self.max_repeats:
                handle.set_user_attr(TRIAL_ATTR, -1)  # answered by the strategy, never seen by the loop
                self._finish(handle, self._known[arch])
                continue
            break
        handle.set_user_attr(TRIAL_ATTR, self._asked)
        self._asked += 1
        return handle

    def _arch(self, handle) -> Arch:
        return tuple(int(handle.params[name]) for name in self._names)

    def _random_unseen(self, rng: np.random.Generator) -> Arch | None:
        for arch in self.space.sample(rng, 64):
            if arch not in self._known:
                return arch
        return None

    def tell(self, trials: list[Trial]) -> None:
        for trial in trials:
            self._known.setdefault(trial.arch, trial)
            if self._outstanding:
                self._finish(self._outstanding.popleft(), trial)
            else:  # history the strategy did not ask for: add it as a finished trial
                self.study.add_trial(optuna.trial.create_trial(
                    params=dict(zip(self._names, trial.arch)), distributions=self._distributions,
                    values=self._values(trial), user_attrs={WORKER_ATTR: self.worker, TRIAL_ATTR: self._asked},
                    constraints=self._constraints(trial)))
                self._asked += 1
                self._sampled += 1

    # ------------------------------------------------------------------ resume
    def resume(self, history: list[Trial]) -> bool:
        """Finish this worker's trials that were evaluated but not told; re-propose the others first."""
        own = [t for t in self.study.get_trials(deepcopy=False) if t.user_attrs.get(WORKER_ATTR) == self.worker]
        for trial in history:
            self._known.setdefault(trial.arch, trial)
        visible = sorted((t for t in own if int(t.user_attrs.get(TRIAL_ATTR, -1)) >= 0),
                         key=lambda t: int(t.user_attrs[TRIAL_ATTR]))
        known = {int(t.user_attrs[TRIAL_ATTR]) for t in visible}
        for trial in own:  # killed between the sampler's proposal and its bookkeeping: never reached the loop
            if trial.state == TrialState.RUNNING and int(trial.user_attrs.get(TRIAL_ATTR, -1)) < 0:
                self.study.tell(trial.number, state=TrialState.FAIL)
        for trial in visible:
            index = int(trial.user_attrs[TRIAL_ATTR])
            if trial.state != TrialState.RUNNING:
                continue
            handle = optuna.trial.Trial(self.study, trial._trial_id)  # noqa: SLF001 - reopen a RUNNING trial
            if index < len(history):
                self._finish(handle, history[index])
            else:
                self._pending.append(handle)
        self._asked = max(known, default=-1) + 1
        self._sampled = len(own)
        missing = [i for i in range(len(history)) if i not in known]
        if missing:  # the storage lost them (an in-memory study, a deleted file): rebuild from the journal
            for i in missing:
                trial = history[i]
                self.study.add_trial(optuna.trial.create_trial(
                    params=dict(zip(self._names, trial.arch)), distributions=self._distributions,
                    values=self._values(trial), user_attrs={WORKER_ATTR: self.worker, TRIAL_ATTR: i},
                    constraints=self._constraints(trial)))
            self._asked = max(self._asked, len(history))
            self._sampled += len(missing)
        self._foreign = False
        return True

    # ------------------------------------------------------------------ helpers
    def _values(self, trial: Trial) -> list[float]:
        return [trial.accuracy] if self.objective == "constrained" else [trial.accuracy, trial.latency_ms]

    def _constraints(self, trial: Trial) -> dict[str, float] | None:
        return {CONSTRAINT: trial.violation_ms} if self.objective == "constrained" else None

    def _finish(self, handle: optuna.trial.Trial, trial: Trial) -> None:
        if self.objective == "constrained":
            handle.set_constraint(CONSTRAINT, trial.violation_ms)
        self.study.tell(handle, self._values(trial))
