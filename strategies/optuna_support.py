"""Building blocks of the Optuna strategy: a checked sampler factory (options and acquisition settings),
in-place re-seeding of a sampler, and an RDB storage tuned for kill-safe yet cheap SQLite commits."""

from __future__ import annotations

import importlib
import inspect
import time
import warnings
from typing import Any, Callable, Mapping

import numpy as np
import optuna

from hwnas.core.errors import HwnasError, finite_number, true_or_false, unknown_choice, whole_number


def sampler_factory(sampler: Mapping[str, Any],
                    settings: Mapping[str, Any] | None = None) -> Callable[[int], optuna.samplers.BaseSampler]:
    """Check a sampler node (`_target_` + constructor options) and return `make(seed) -> BaseSampler`.

    `settings` sets a sampler's numeric control attributes that its constructor does not take (GPSampler's
    acquisition optimiser: `n_preliminary_samples`, `n_local_search`): each must exist as `_<name>`."""
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
    settings = {str(k): v for k, v in dict(settings or {}).items()}
    kinds = {name: _kind(p) for name, p in inspect.signature(cls).parameters.items()}
    for key, value in options.items():     # Optuna takes a wrong type or a negative count without a word
        check, optional = kinds.get(key, (None, True))
        if check is not None and not (value is None and optional):
            check(f"Optuna sampler {class_name}", key, value)
        if key.startswith("n_") and isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise HwnasError(f"Optuna sampler {class_name}: {key} must be >= 0, got {value}")

    def make(seed: int) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                built = cls(**options, seed=seed)
            except (TypeError, ValueError) as exc:
                raise HwnasError(f"Optuna sampler {class_name}: {exc}") from None
        settable = sorted(k[1:] for k, v in vars(built).items()
                          if k.startswith("_n_") and isinstance(v, int) and not isinstance(v, bool))
        for key, value in settings.items():
            if key not in settable:
                raise HwnasError(f"Optuna sampler {class_name}: unknown setting {key}; valid settings: "
                                 f"{', '.join(settable) or 'none'}")
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise HwnasError(f"Optuna sampler {class_name}: setting {key} must be a positive integer, got {value!r}")
            setattr(built, f"_{key}", value)
        return built

    make(0)  # fail now, with a one-line message, on a bad option value
    return make


# the one-line check (hwnas.core.errors) for a sampler parameter of each simple type
CHECKS = {"bool": true_or_false, "int": whole_number, "float": finite_number}


def _kind(parameter: inspect.Parameter) -> tuple[Callable | None, bool]:
    """(the check for a bool, int or float sampler parameter, else None; whether None is allowed), read from its
    annotation (`'bool | None'`), or from its default where it has none."""
    annotation = parameter.annotation
    if isinstance(annotation, str):
        parts = [p.strip() for p in annotation.split("|")]
        named = [p for p in parts if p != "None"]
        return (CHECKS.get(named[0]) if len(named) == 1 else None), "None" in parts
    return CHECKS.get(type(parameter.default).__name__), parameter.default is None


def reseed(sampler, seed: int, depth: int = 0) -> None:
    """Seed every random state of a sampler (and of the samplers inside it) in place: one sampler
    object keeps its caches (TPE's search-space intersection) while each ask stays a function of the
    seed and the history. GP's kernel fit, warm-started from the previous ask, is the one exception."""
    from optuna.samplers._lazy_random_state import LazyRandomState

    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed % 2**32)
        elif depth < 3 and type(value).__module__.startswith("optuna.samplers") and hasattr(value, "__dict__"):
            reseed(value, seed, depth + 1)


def derived_seed(seed: int, count: int) -> int:
    """The seed of this worker's `count`-th sampler call: independent streams per (seed, count)."""
    return int(np.random.SeedSequence([int(seed), int(count)]).generate_state(1)[0])


def open_storage(url: str | None):
    """An RDB storage; SQLite in WAL mode with NORMAL sync: each commit reaches the OS (survives kill -9)
    without an fsync per statement, which made every trial cost hundreds of ms on a busy disk. A busy
    timeout lets several worker processes share one SQLite file."""
    if not url or not str(url).startswith("sqlite:"):
        return url
    from sqlalchemy import event

    import sqlalchemy.exc

    for attempt in range(10):  # workers starting together race to create the schema: the loser retries
        try:
            rdb = optuna.storages.RDBStorage(str(url), engine_kwargs={"connect_args": {"timeout": 60}})
            break
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as exc:
            if attempt == 9 or not any(s in str(exc) for s in ("already exists", "locked", "UNIQUE constraint")):
                raise
            time.sleep(0.1 * (attempt + 1))

    @event.listens_for(rdb.engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    rdb.engine.dispose()  # connections opened before the listener reconnect with the pragmas
    return rdb
