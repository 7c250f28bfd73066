"""Configuration: the config folders and their groups, the typed schema of every command's options
(`hwnas.config.schema`), checks that turn a bad option into a one-line HwnasError, and instantiation."""

from __future__ import annotations

import inspect
from typing import Any

from hwnas.config.folders import (ENV_CONFIG_PATH, command_groups, conf_dir, conf_dirs, group_choices, group_file,
                                  group_keys, groups, hydra_searchpath_override)
from hwnas.config.schema import COMMANDS, PLAIN, MeasurementOptions, register as register_schemas
from hwnas.config.validate import check_value, parse_plain, schema_for, validate
from hwnas.core.errors import HwnasError

__all__ = [
    "COMMANDS", "ENV_CONFIG_PATH", "PLAIN", "MeasurementOptions", "check_overrides", "check_value", "command_groups",
    "command_help", "compose", "conf_dir", "conf_dirs", "group_choices", "group_file", "group_keys", "groups",
    "hydra_searchpath_override", "instantiate", "option_defaults", "parse_plain", "register_schemas", "schema_for",
    "validate",
]

register_schemas()  # so every composition of conf/<command>.yaml (CLI, tests, scripts) finds its schema


def check_overrides(overrides: list[str], command: str | None = None) -> None:
    """Refuse a bad command line before Hydra composes: an unknown group choice (`strategy=evolutoin`) and,
    for a command, an unknown key, a value of the wrong type or out of range (one-line HwnasError)."""
    from hwnas.config.overrides import check_command_line

    check_command_line(command.replace("-", "_") if command else None, list(overrides))


def option_defaults(command: str) -> dict[str, Any]:
    """The command's plain options (no config groups) with their defaults, {name: default}."""
    from hwnas.config.fields import options

    return {o.name: o.default for o in options(schema_for(command)) if not o.is_group}


def command_help(command: str, summary: str = "") -> str:
    """`hwnas <command> --help`: options with type, default, range and help, and the config groups."""
    from hwnas.config.help import command_help as render

    return render(command, summary)


def compose(command: str, overrides: list[str] | tuple[str, ...] = (), *, with_choices: bool = False) -> Any:
    """A command's config as `hwnas <command> overrides...` composes it, checked the same way (no run folder,
    no `HydraConfig`; for the Session, tests and scripts). `with_choices`: also the chosen entry of each
    config group (`{"strategy": "evolution", ...}`), as a pair."""
    from hydra import compose as hydra_compose, initialize_config_dir
    from omegaconf import open_dict

    name = command.replace("-", "_")
    check_overrides(list(overrides), name)
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = hydra_compose(config_name=name, overrides=[*overrides, *hydra_searchpath_override()],
                            return_hydra_config=with_choices)
    if with_choices:
        choices = {k: v for k, v in cfg.hydra.runtime.choices.items() if not k.startswith("hydra")}
        with open_dict(cfg):
            del cfg["hydra"]
    validate(name, cfg)
    return (cfg, choices) if with_choices else cfg


def instantiate(node: Any, what: str, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate`, with the underlying HwnasError or a bad option re-raised plainly."""
    from hydra.errors import InstantiationException
    from hydra.utils import get_class, instantiate as hydra_instantiate

    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, HwnasError):
            raise cause from None
        target = node.get("_target_", "?")
        if isinstance(cause, TypeError) and "keyword argument" in str(cause):
            try:
                params = [p for p in inspect.signature(get_class(target)).parameters
                          if p not in ("self", "space", "device", "budget_ms", "seed")]
            except Exception:  # noqa: BLE001 - only used to improve the message
                params = []
            raise HwnasError(f"{what} {target}: {cause}; valid options: {', '.join(params) or 'none'}") from None
        raise HwnasError(f"{what} {target} could not be created: {cause or exc}") from None
