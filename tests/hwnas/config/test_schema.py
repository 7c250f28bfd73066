"""The command schemas: every shipped config composes against its schema, the YAML holds no option values,
and each default is the one the code uses (one set of defaults)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import typing

import pytest
import yaml
from cli_runner import hwnas

from hwnas.cli import available_commands
from hwnas.config import COMMANDS, PLAIN, compose, conf_dir, group_choices, group_file, schema_for
from hwnas.config.fields import options
from hwnas.config.schema import (CLOCKS, OBJECTIVES, CalibrateConfig, MeasureConfig,
                                 MeasurementOptions, SearchConfig, schema_name)


def _hydra_commands() -> list[str]:
    modules = {m: importlib.import_module(f"hwnas.cli.commands.{m}") for m in available_commands().values()}
    return sorted(m for m, module in modules.items() if hasattr(module, "run") and not hasattr(module, "main"))


def test_every_hydra_command_has_a_schema_named_like_its_config():
    assert _hydra_commands() == sorted(COMMANDS)
    for name in COMMANDS:
        assert importlib.import_module(f"hwnas.cli.commands.{name}").CONFIG_NAME == name
    assert set(PLAIN) == {"describe", "import", "export"}
    for name in PLAIN:
        assert importlib.import_module(f"hwnas.cli.commands.{name}").CONFIG_NAME == name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_yaml_holds_only_its_defaults_list_and_hydra_settings(command):
    data = yaml.safe_load((conf_dir() / f"{command}.yaml").read_text())
    assert set(data) <= {"defaults", "hydra"}
    assert data["defaults"][0] == schema_name(command) and data["defaults"][-1] == "_self_"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_defaults_compose_to_the_schema_defaults(command):
    cfg = compose(command)
    for opt in options(schema_for(command)):
        if opt.is_group:
            assert "_target_" in cfg[opt.name] or command == "monotonicity"
        else:
            value = cfg[opt.name]
            value = list(value) if isinstance(value, typing.Sequence) and not isinstance(value, str) else value
            assert value == opt.default, opt.name


def _group_cases():
    for command in sorted(COMMANDS):
        for opt in options(schema_for(command)):
            if opt.is_group:
                group = "oracle" if opt.name == "meter" else opt.name
                prefix = "oracle@meter" if opt.name == "meter" else group
                for choice in group_choices(group):
                    yield pytest.param(command, f"{prefix}={choice}", id=f"{command}-{prefix}={choice}")


@pytest.mark.parametrize("command, override", list(_group_cases()))
def test_every_shipped_group_choice_composes_against_the_schema(command, override):
    node, _, choice = override.partition("=")
    cfg = compose(command, [override])
    group = node.split("@")[0]
    key = node.split("@")[-1]
    assert cfg[key]["_target_"] == yaml.safe_load(group_file(group, choice).read_text())["_target_"]


def test_every_option_has_help_and_a_type():
    for schema in [*COMMANDS.values(), *PLAIN.values()]:
        for opt in options(schema):
            assert opt.help and "\n" not in opt.help, (schema.__name__, opt.name)
            assert opt.type and opt.type != "any", (schema.__name__, opt.name)


def test_measurement_settings_are_one_definition_shared_by_measure_and_calibrate():
    shared = options(MeasurementOptions)
    rename = {"batch_size": "measure_batch_size"}
    for schema, names in ((MeasureConfig, {}), (CalibrateConfig, rename)):
        own = {o.name: o for o in options(schema)}
        for opt in shared:
            copy = own[names.get(opt.name, opt.name)]
            assert (copy.type, copy.default, copy.help, copy.ge, copy.gt, copy.choices) == \
                   (opt.type, opt.default, opt.help, opt.ge, opt.gt, opt.choices)
    calibrate = {o.name: o for o in options(CalibrateConfig)}
    assert calibrate["batch_size"].help == "architectures per ask/tell of the search"


def test_measurement_defaults_agree_with_hwnas_measure():
    from hwnas.measure import backend, timing

    defaults = {o.name: o.default for o in options(MeasurementOptions)}
    code = {f.name: f.default for f in dataclasses.fields(backend.BackendSettings)}
    assert defaults == code
    assert {f.name for f in dataclasses.fields(timing.MeasurementSettings)} <= set(defaults)
    choices = {o.name: o.choices for o in options(MeasurementOptions)}
    assert (choices["backend"], choices["dtype"], choices["clock"]) == (backend.BACKENDS, backend.DTYPES,
                                                                         timing.CLOCKS) and CLOCKS == timing.CLOCKS
    assert (choices["runtime"], choices["graph_optimization"]) == (backend.RUNTIMES, backend.GRAPH_OPTIMIZATIONS)


def test_the_measured_oracle_and_its_yaml_use_the_same_defaults():
    from hwnas.predictors.measured import MeasuredOracle

    defaults = {o.name: o.default for o in options(MeasurementOptions)}
    signature = inspect.signature(MeasuredOracle).parameters
    assert {name: signature[name].default for name in defaults} == defaults
    measured = yaml.safe_load(group_file("oracle", "measured").read_text())
    assert {name: measured[name] for name in defaults} == defaults


def test_a_commands_settings_are_its_schemas_defaults():
    from hwnas.cli.commands.measure import settings_from
    from hwnas.measure.backend import BackendSettings

    assert settings_from(compose("measure")) == BackendSettings().resolved()
    assert settings_from(compose("calibrate"), batch_size_key="measure_batch_size") == BackendSettings().resolved()


def test_search_runs_with_the_schema_defaults(tmp_path):
    """What `hwnas search` records and counts with (screening, cost model, objective) is the schema's."""
    result = hwnas("search", "max_evals=5", "progress=false", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    defaults = {o.name: o.default for o in options(SearchConfig) if not o.is_group}
    assert {k: summary["config"][k] for k in defaults} == {**defaults, "max_evals": 5, "progress": False,
                                                           "constraint_confidence": 0.5}   # null, resolved without refine
    assert summary["budget_ms"] == defaults["budget_ms"] and summary["device"] == defaults["device"]
    assert summary["objective"] == defaults["objective"] and summary["seed"] == defaults["seed"]
    assert summary["cost"]["seconds_per_measurement"] == defaults["seconds_per_measurement"]
    assert summary["cost"]["screened"] > 0 and defaults["screen"] is True


def test_analysis_defaults_match_the_schema():
    from hwnas.analysis.monotonicity import spearman_matrix

    assert inspect.signature(spearman_matrix).parameters["min_pairs"].default == \
           {o.name: o.default for o in options(schema_for("monotonicity"))}["min_pairs"]


def test_choices_agree_with_the_code():
    from hwnas.cli.commands.monotonicity import _tables
    from hwnas.core.strategy import OBJECTIVES as CODE_OBJECTIVES

    assert OBJECTIVES == CODE_OBJECTIVES
    assert {"nb201_help", "nb201_oneproxy", "fbnet"} <= set(_tables())  # declared by the spaces, not the schema
