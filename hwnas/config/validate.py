"""Checking a command's config against its schema: unknown keys, types and ranges, each a one-line HwnasError."""

from __future__ import annotations

import typing
from typing import Any

from hwnas.config.fields import Option, options
from hwnas.config.schema import COMMANDS, PLAIN
from hwnas.core.errors import HwnasError, unknown_choice

_TYPE_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
               "list[int]": "a list of integers, e.g. [0,1]", "list[str]": "a list, e.g. [a,b]"}


def schema_for(command: str) -> type:
    """The schema dataclass of a command (`meta-train` and `meta_train` both work)."""
    name = command.replace("-", "_")
    schemas = {**COMMANDS, **PLAIN}
    if name not in schemas:
        raise unknown_choice("command", command, [c.replace("_", "-") for c in schemas])
    return schemas[name]


def option_map(command: str) -> dict[str, Option]:
    return {o.name: o for o in options(schema_for(command))}


def unknown_option(command: str, key: str) -> HwnasError:
    return unknown_choice(f"{command.replace('_', '-')} option", key, option_map(command))


def expected(opt: Option) -> str:
    """The option's type in words: `an integer`, `a string or null`."""
    base, nullable = opt.type.removesuffix(" | null"), opt.type.endswith(" | null")
    return _TYPE_WORDS.get(base, f"of type {base}") + (" or null" if nullable else "")


def shown(value: Any) -> str:
    """A value as the user typed it (null, true, 'text')."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def check_value(command: str, key: str, value: Any) -> Any:
    """`value` converted to the option's type as Hydra will (`'5'` -> 5), after its range check."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    opt = option_map(command)[key]
    node = OmegaConf.structured(schema_for(command))
    try:
        node[key] = value
        converted = node[key]
    except OmegaConfBaseException:
        raise HwnasError(f"{key} must be {expected(opt)}, got {shown(value)}") from None
    if OmegaConf.is_config(converted):
        converted = OmegaConf.to_container(converted, resolve=True)
    opt.check(converted)
    return converted


def validate(command: str, cfg: Any) -> None:
    """Refuse a config (a DictConfig or a mapping) with an unknown option, a value of the wrong type or
    one out of range. Config group nodes are left to their constructors."""
    opts = option_map(command)
    keys = list(cfg.keys())
    for key in keys:
        if key not in opts and key != "hydra":
            raise unknown_option(command, str(key))
    for key, opt in opts.items():
        if not opt.is_group and key in keys:
            check_value(command, key, cfg[key])


def parse_plain(command: str, argv: list[str]) -> dict:
    """Plain `key=value` arguments (no Hydra grammar) over the schema's defaults, typed and checked."""
    opts = option_map(command)
    values = {name: opt.default for name, opt in opts.items()}
    hints = typing.get_type_hints(schema_for(command))
    for item in argv:
        key, sep, text = item.partition("=")
        if not sep:
            raise HwnasError(f"expected key=value, got {item!r}; keys: {', '.join(opts)}")
        if key not in opts:
            raise unknown_option(command, key)
        values[key] = _from_text(opts[key], hints[key], text)
        opts[key].check(values[key])
    return values


def _from_text(opt: Option, annotation: Any, text: str) -> Any:
    kinds = [a for a in (typing.get_args(annotation) or (annotation,)) if a is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else str
    if kind is str:
        return text
    if opt.nullable and text.lower() in ("null", "none", ""):
        return None
    if kind is bool:
        flags = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False,
                 "0": False}
        if text.lower() in flags:
            return flags[text.lower()]
    else:
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    raise HwnasError(f"{opt.name} must be {expected(opt)}, got {text!r}")
