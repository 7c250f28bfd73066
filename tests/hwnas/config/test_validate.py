"""Override checks before Hydra, and `validate` / `parse_plain` for the Python API: one-line HwnasErrors."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from hwnas.config import check_overrides, check_value, compose, parse_plain, validate
from hwnas.config.fields import Option, options, type_name
from hwnas.config.schema import DescribeOptions
from hwnas.core.errors import HwnasError


@pytest.mark.parametrize("command, overrides, message", [
    ("search", ["max_eval=5"], "unknown search option 'max_eval'. Did you mean: max_evals"),
    ("search", ["+max_eval=5"], "unknown search option 'max_eval'. Did you mean: max_evals"),
    ("search", ["++max_eval=5"], "unknown search option 'max_eval'"),
    ("search", ["max_evals=ten"], "max_evals must be an integer, got 'ten'"),
    ("search", ["max_evals=0"], "max_evals must be >= 1, got 0"),
    ("search", ["max_evals=null"], "max_evals must be an integer, got null"),
    ("search", ["budget_ms=-1"], "budget_ms must be > 0"),
    ("search", ["-m", "budget_ms=5,-1"], "budget_ms must be > 0"),
    ("search", ["-m", "max_evals=range(0,3)"], "max_evals must be >= 1, got 0"),
    ("search", ["budget_ms=5,6"], "is a sweep: add -m"),
    ("search", ["objective=paretto"], "unknown objective 'paretto'. Did you mean: pareto"),
    ("search", ["budgets_ms=[1,x]"], "budgets_ms must be a number or a list of numbers"),
    ("search", ["budgets_ms=[1,-2]"], "budgets_ms must be > 0"),
    ("search", ["screen=maybe"], "screen must be true or false"),
    ("search", ["+max_evals=5"], "drop the '+'"),
    ("search", ["~seed"], "cannot be removed"),
    ("search", ["seed.x=1"], "not a config node"),
    ("search", ["oracle=help", "oracle.episods=3"], "unknown option 'oracle.episods' for oracle=help. "
                                                    "Did you mean: oracle.episodes"),
    ("search", ["oracle.episods=3", "oracle=help"], "Did you mean: oracle.episodes"),
    ("search", ["oracle.episodes=3"], "unknown option 'oracle.episodes' for oracle=lut"),
    ("search", ["-m", "oracle=help,lut", "oracle.episodes=3"], "for oracle=lut"),
    ("search", ["space=fbnet", "evaluator.dataset=x"], "for evaluator=fbnet"),
    ("search", ["strategy=evolutoin"], "unknown strategy 'evolutoin'. Did you mean: evolution"),
    ("search", ["-m", "strategy=evolution,tpee"], "unknown strategy 'tpee'"),
    ("search", ["-m", "+launcher=slurmm"], "unknown launcher 'slurmm'"),
    ("search", ["max_evals=[1"], "cannot parse an override"),
    ("calibrate", ["meter.thread=2"], "unknown option 'meter.thread' for oracle@meter=measured. "
                                      "Did you mean: meter.threads"),
    ("calibrate", ["meter=lut"], "oracle@meter=<choice>"),
    ("calibrate", ["clock=cpu"], "unknown measurement clock 'cpu'"),
    ("measure", ["indices=5"], "indices must be a list of integers"),
    ("measure", ["indices=[3,-1]"], "indices must be >= 0, got -1"),
    ("measure", ["rel_tolerance=0"], "rel_tolerance must be > 0"),
    ("measure", ["dtype=float64"], "unknown measurement dtype 'float64'"),
    ("monotonicity", ["tables=fbnet"], "tables must be a list"),
    ("meta_train", ["threads=0"], "threads must be >= 1"),
    ("predict", ["samples=-1"], "samples must be >= 0"),
])
def test_bad_overrides_are_one_line(command, overrides, message):
    with pytest.raises(HwnasError, match=message.replace("(", r"\(").replace("[", r"\[").replace("+", r"\+")) as info:
        check_overrides(overrides, command)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("command, overrides", [
    ("search", ["hydra.run.dir=/tmp/x", "hydra/launcher=joblib", "+launcher=local", "-m", "budget_ms=1,2"]),
    ("search", ["--cfg", "job", "max_evals=7", "budget_ms=${oc.env:BUDGET,5}"]),
    ("search", ["-m", "seed=range(0,3)", "strategy=glob(*)", "budget_ms=interval(1,2)"]),
    ("search", ["oracle=help", "oracle.episodes=40", "+oracle.extra=1", "+space.channels=4", "++max_evals=3"]),
    ("search", ["strategy=tpe", "strategy.sampler.n_startup_trials=5", "budgets_ms=5", "budgets_ms=[5,10]"]),
    ("search", ["max_evals='5'", "device=local-cpu", "strategy=tpe", "strategy.storage=null", "space=fbnet", "evaluator=synflow"]),
    ("calibrate", ["meter.threads=2", "oracle@meter=measured", "measure_batch_size=4", "clock=thread_cpu"]),
    ("measure", ["indices=[0,1]", "out=m.csv", "backend=cpu"]),
    ("monotonicity", ["tables=[fbnet]", "min_pairs=3"]),
    ("meta_train", ["oracle=help_ensemble", "oracle.episodes=10"]),
])
def test_good_overrides_pass(command, overrides):
    check_overrides(overrides, command)


def test_validate_checks_a_composed_config_and_a_plain_mapping():
    cfg = compose("search", ["max_evals=7"])
    validate("search", cfg)
    assert cfg.max_evals == 7 and isinstance(cfg.budget_ms, float)
    with pytest.raises(HwnasError, match="unknown search option 'max_eval'"):
        validate("search", {"max_eval": 5})
    with pytest.raises(HwnasError, match="max_evals must be >= 1, got 0"):
        validate("search", OmegaConf.create({"max_evals": 0}))
    with pytest.raises(HwnasError, match="max_evals must be an integer"):
        validate("search", {"max_evals": "ten"})
    with pytest.raises(HwnasError, match="time_cap_s must be > 0"):
        validate("measure", {"time_cap_s": -1})
    validate("meta-train", {"threads": 2, "oracle": {"_target_": "x"}})


def test_compose_refuses_what_the_cli_refuses():
    with pytest.raises(HwnasError, match="max_evals must be an integer"):
        compose("search", ["max_evals=ten"])


def test_check_value_converts_like_hydra():
    assert check_value("search", "max_evals", "5") == 5
    assert check_value("search", "budget_ms", 5) == 5.0
    assert check_value("search", "budgets_ms", [1, 2]) == [1, 2]
    assert check_value("measure", "indices", None) is None


def test_parse_plain_types_the_values():
    assert parse_plain("describe", ["row=17", "measure=true", "arch=a,b|c:d", "threads=2"]) == {
        "space": "nasbench201", "arch": "a,b|c:d", "row": 17, "measure": True, "threads": 2}
    for argv, message in ((["row=x"], "row must be an integer or null"), (["row=-1"], "row must be >= 0"),
                          (["measure=maybe"], "measure must be true or false"), (["colour=red"], "describe option"),
                          (["row"], "expected key=value")):
        with pytest.raises(HwnasError, match=message):
            parse_plain("describe", argv)


def test_option_limits_and_type_names():
    by_name = {o.name: o for o in options(DescribeOptions)}
    assert by_name["row"].type == "int | null" and by_name["row"].limits() == ">= 0"
    assert Option("x", "str", "a", "h", choices=("a", "b")).limits() == "a | b"
    assert type_name(list[int]) == "list[int]"
