"""One `Session` builds a run from its config and runs it: space, device data, oracle (adapted on the
target), evaluator, strategy, ledger and journal. Every command, `calibrate` and the experiment scripts
use it, so set-up and adaptation are counted one way; it reads no Hydra globals, so a notebook can use it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from hwnas.config import instantiate
from hwnas.config.schema import PLAIN_CONFIDENCE, REFINE_CONFIDENCE
from hwnas.core.constraint import Constraint
from hwnas.core.errors import HwnasError
from hwnas.core.evaluator import Evaluator
from hwnas.core.oracle import LatencyOracle
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy
from hwnas.core.subspace import TableSubspace
from hwnas.data import devices
from hwnas.engine.ledger import CostLedger
from hwnas.engine.refine import RefineSettings, adapts
from hwnas.engine.runs import constructor_parameters, make_strategy, predict_table, run_configured_search
from hwnas.engine.target import TableTarget, Target
from hwnas.measure.timing import set_compute_threads

Progress = Callable[[int], None]


class Session:
    """A run built from a composed config (`Session.compose("search", ["device=raspi4"])` or Hydra's `cfg`).

    Parts are built on first use and kept: `space` (the searched space: restricted to the oracle's table
    coverage where it has one), `oracle` (adapted on the target's measurements of its reference archs),
    `evaluator`, `ledger`. `target` measures on the device (its table by default; `calibrate` times this
    machine). `choices` names the chosen config-group entries (`{"strategy": "evolution"}`) for summaries.
    """

    def __init__(self, cfg, *, run_dir: str | Path | None = None, choices: dict[str, str] | None = None,
                 target: Target | None = None, check_budget: bool = True):
        self.cfg = cfg
        if cfg.get("threads") is not None:  # one setting for every torch computation of the run
            set_compute_threads(int(cfg.threads))
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.choices = dict(choices or {})
        self.adaptation: tuple[list[Arch], np.ndarray] | None = None   # what the oracle adapted on (archs, ms)
        self.base_space: SearchSpace = instantiate(cfg.space, "search space")
        self.device = str(cfg.device)
        self.ledger = CostLedger(seconds_per_measurement=float(cfg.seconds_per_measurement)
                                 if "seconds_per_measurement" in cfg else CostLedger.seconds_per_measurement)
        self.target = target if target is not None else TableTarget(self.base_space, self.device)
        self.true_latency_ms = self.target.table_ms()
        if cfg.get("budget_quantile") is not None:
            cfg.budget_ms = self.quantile_budget_ms(float(cfg.budget_quantile))
        if "constraint_confidence" in cfg and cfg.constraint_confidence is None:   # resolved, as the summary records
            cfg.constraint_confidence = REFINE_CONFIDENCE if cfg.get("refine") else PLAIN_CONFIDENCE
        self.constraint = (Constraint(cfg.budget_ms, cfg.get("constraint_confidence", 0.5)) if "budget_ms" in cfg
                           else None)
        if check_budget and self.constraint is not None:
            devices.check_budget(self.base_space.name, self.device, self.constraint.budget_ms)
        self.refine = self._refine_settings()

    def _refine_settings(self) -> RefineSettings | None:
        """`refine=true`'s settings, checked before any work: an adapting oracle, the constrained objective."""
        if not self.cfg.get("refine"):
            if self.constraint is not None and self.constraint.confidence < 0.5:
                raise HwnasError(f"constraint_confidence={self.constraint.confidence} < 0.5 counts architectures "
                                 "that are likely over budget as feasible; it needs refine=true (whose pick is "
                                 "measured within budget), or use 0.5 or more")
            return None
        settings = RefineSettings(int(self.cfg.refine_every), int(self.cfg.refine_batch),
                                  int(self.cfg.refine_max_measurements))
        if str(self.cfg.get("objective", "constrained")) != "constrained":
            raise HwnasError("refine=true refits the oracle for a latency budget: it needs objective=constrained")
        from hydra.utils import get_class

        try:
            oracle_class = get_class(str(self.cfg.oracle["_target_"]))
        except Exception:  # noqa: BLE001 - an unknown target is reported when the oracle is built
            return settings
        if not adapts(oracle_class):
            name = self.choices.get("oracle", getattr(oracle_class, "name", oracle_class.__name__))
            raise HwnasError(f"refine=true refits the oracle on target measurements, and oracle {name} does not "
                             "adapt (no adapt()); use an adapting oracle (help, help_ensemble, oneproxy, brpnas) "
                             "or refine=false")
        return settings

    def quantile_budget_ms(self, quantile: float) -> float:
        """The device's `quantile`-th latency over its measured architectures (a budget relative to the device)."""
        if not 0 < quantile <= 1:
            raise HwnasError(f"budget_quantile must be in (0, 1], got {quantile}")
        measured = self.true_latency_ms[np.isfinite(self.true_latency_ms)]
        if not len(measured):
            raise HwnasError(f"budget_quantile needs measurements of {self.device}, and it has none; give budget_ms")
        return float(np.quantile(measured, quantile))

    @classmethod
    def compose(cls, command: str = "search", overrides: Sequence[str] = (), **kwargs) -> "Session":
        """Compose `conf/<command>.yaml` with Hydra overrides (as on the command line) and build a Session."""
        from hwnas.config import compose

        cfg, choices = compose(command, list(overrides), with_choices=True)
        return cls(cfg, choices=choices, **kwargs)

    # ------------------------------------------------------------------ parts
    @cached_property
    def _built(self) -> tuple[SearchSpace, LatencyOracle]:
        """Build the oracle (setup phase), restrict the space to its coverage, adapt it on the target."""
        with self.ledger.phase("setup"):
            oracle: LatencyOracle = self.target.build_oracle(self)
        self.ledger.add_setup(oracle.setup_cost())
        if self.constraint is not None and self.constraint.uses_uncertainty and not oracle.has_uncertainty():
            raise HwnasError(f"constraint_confidence={self.constraint.confidence} needs the oracle's predictive "
                             f"uncertainty, and oracle {oracle.name} has none (no predict_std_ms); use 0.5 or "
                             "an oracle that gives one" + (" (refine=true's default; set constraint_confidence=0.5)"
                                                           if self.refine is not None else ""))
        space = self.base_space
        coverage = oracle.coverage()
        if coverage is None and self.cfg.get("restrict_to_table"):
            # a predictor covers the whole space; restrict_to_table searches the device's measured rows, so every
            # pick has a true latency and refine measures only tabled archs (FBNet's 5,000 rows, issue 16)
            rows = np.flatnonzero(np.isfinite(self.true_latency_ms))
            if len(rows) and (len(rows) < len(self.true_latency_ms) or not space.exhaustively_tabled):
                coverage = rows
        if coverage is not None:
            if not self.cfg.restrict_to_table:
                raise HwnasError(
                    f"oracle {oracle.name} on {self.device} covers {len(coverage):,} architectures of "
                    f"{space.name}, not the whole space; add restrict_to_table=true to search only those")
            space = TableSubspace(space, coverage)
        references = oracle.reference_archs()
        if self.refine is not None and len(references) >= self.refine.max_measurements:
            raise HwnasError(f"refine_max_measurements={self.refine.max_measurements} leaves nothing for refine and "
                             f"verify after the oracle's {len(references)} adaptation measurements; raise it above "
                             f"{len(references)}")
        if references:
            with self.ledger.phase("adapt"):
                measured = self.measure("adapt", references)
                oracle.adapt(references, measured)
            self.adaptation = (list(references), measured)
        return space, oracle

    @property
    def space(self) -> SearchSpace:
        return self._built[0]

    @property
    def oracle(self) -> LatencyOracle:
        return self._built[1]

    @cached_property
    def evaluator(self) -> Evaluator:
        with self.ledger.phase("setup"):
            return instantiate(self.cfg.evaluator, "evaluator", space=self.space)

    def strategy(self, objective: str = "constrained", **extra) -> Strategy:
        """A fresh strategy of the config over the searched space (`objective` passed only when not the default)."""
        if self.run_dir is not None and "workdir" in constructor_parameters(self.cfg.strategy):
            extra.setdefault("workdir", str(self.run_dir))
        return make_strategy(self.cfg, self.space, self.constraint, objective, self.choices.get("strategy"),
                             **extra)

    def measure(self, phase: str, archs: list[Arch]) -> np.ndarray:
        """Measure `archs` on the target and count them in the ledger under `phase`."""
        return self.target.measure(archs, self.ledger, phase)

    # ------------------------------------------------------------------ runs
    def search(self, progress: Progress | None = None) -> dict:
        """Run the configured search (journaled and resumable when the session has a run folder); the summary."""
        return run_configured_search(self, progress)

    def predict(self) -> dict:
        """The oracle's prediction for every tabled architecture of the searched space, and its rank correlation."""
        return predict_table(self)

