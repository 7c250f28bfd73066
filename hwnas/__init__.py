"""hwnas: hardware-aware neural architecture search with pluggable latency oracles.

From Python (a notebook, a script) as from the command line, with the same config and overrides:

    import hwnas
    summary = hwnas.search(device="raspi4", budget_ms=20, strategy="tpe", max_evals=300, seed=1)
    table = hwnas.predict(oracle="help", device="pixel2")
"""

from __future__ import annotations

from typing import Any

from hwnas.core.version import __version__
__all__ = ["Session", "Constraint", "HwnasError", "search", "predict", "overrides_of", "__version__"]


def overrides_of(options: dict[str, Any]) -> list[str]:
    """Keyword options as Hydra overrides (`budget_ms=20`, `oracle.episodes=40` via `**{"oracle.episodes": 40}`)."""
    def text(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (list, tuple)):
            return "[" + ",".join(text(v) for v in value) + "]"
        return str(value)

    return [f"{key}={text(value)}" for key, value in options.items()]


def search(*overrides: str, run_dir: str | None = None, **options: Any) -> dict:
    """Run a search as `hwnas search` would and return its summary (with `records`, one dict per trial).
    With `run_dir` the run is journaled there (trials.jsonl, summary.json) and `resume=True` continues it."""
    from hwnas.engine.session import Session

    session = Session.compose("search", [*overrides, *overrides_of(options)], run_dir=run_dir)
    return session.search()


def predict(*overrides: str, **options: Any):
    """An oracle's predictions for every tabled architecture of a device, as a DataFrame (index, arch,
    predicted_ms, measured: whether it was one of the target measurements the oracle adapted on), as
    `hwnas predict` writes it."""
    from hwnas.engine.session import Session

    return Session.compose("predict", [*overrides, *overrides_of(options)], check_budget=False).predict()["frame"]


def __getattr__(name: str):
    if name == "Session":
        from hwnas.engine.session import Session

        return Session
    if name == "Constraint":
        from hwnas.core.constraint import Constraint

        return Constraint
    if name == "HwnasError":
        from hwnas.core.errors import HwnasError

        return HwnasError
    raise AttributeError(f"module 'hwnas' has no attribute {name!r}")
