"""Contract suites for every plug-in kind and public toy plug-ins, importable by third parties (like
`optuna.testing`). Each check raises AssertionError naming what broke; the `*_CHECKS` dicts list them
by name so a test suite can parametrize over them.

    from hwnas.testing import check_oracle, check_space, check_strategy, check_evaluator
    check_space(MySpace())
    check_oracle(lambda space, device: MyOracle(space, device), NasBench201(), "raspi4")
    check_strategy(lambda space, budget_ms, seed, run_dir: MyStrategy(space, budget_ms, seed))
    check_evaluator(lambda space: MyAccuracy(space), NasBench201())

`oracle_factory`, `strategy_factory` and `evaluator_factory` build a plug-in from its YAML file;
`check_settings_refused` checks that each number and true/false setting of a YAML, given as text, is refused.
"""

from hwnas.testing.batching import own_source_files, per_arch_evidence
from hwnas.testing.evaluators import EVALUATOR_CHECKS, check_evaluator
from hwnas.testing.factories import (
    EvaluatorFactory,
    OracleFactory,
    StrategyFactory,
    evaluator_factory,
    load_space,
    oracle_factory,
    strategy_factory,
    supported_space,
    supported_target,
)
from hwnas.testing.oracles import (
    ORACLE_CHECKS,
    UNIT_RATIO_BAND,
    adapted,
    check_adapt_then_predict,
    check_batch_consistency,
    check_batched,
    check_determinism,
    check_malformed_arch,
    check_oracle,
    check_shapes,
    check_units,
    check_unknown_device,
    check_unsupported_space,
    probe_archs,
)
from hwnas.testing.settings import check_settings_refused, scalar_settings
from hwnas.testing.spaces import SPACE_CHECKS, check_space
from hwnas.testing.strategies import STRATEGY_CHECKS, check_strategy
from hwnas.testing.toys import ToyEvaluator, ToyOracle, ToySpace, UnsupportedToySpace

__all__ = [
    # oracles
    "ORACLE_CHECKS", "UNIT_RATIO_BAND", "OracleFactory", "adapted", "check_adapt_then_predict",
    "check_batch_consistency", "check_batched", "check_determinism", "check_malformed_arch", "check_oracle",
    "check_shapes", "check_units", "check_unknown_device", "check_unsupported_space", "oracle_factory",
    "own_source_files", "per_arch_evidence", "probe_archs", "supported_target",
    # settings (every plug-in kind)
    "check_settings_refused", "scalar_settings",
    # spaces
    "SPACE_CHECKS", "check_space", "load_space",
    # strategies
    "STRATEGY_CHECKS", "StrategyFactory", "check_strategy", "strategy_factory",
    # evaluators
    "EVALUATOR_CHECKS", "EvaluatorFactory", "check_evaluator", "evaluator_factory", "supported_space",
    # toy plug-ins
    "ToyEvaluator", "ToyOracle", "ToySpace", "UnsupportedToySpace",
]
