"""Checking a command line's Hydra overrides before Hydra starts: unknown group choices, unknown keys,
wrong types and out-of-range values each give one line (Hydra would print several, or accept `+typo=1`)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from hwnas.config.folders import command_groups, group_choices, group_keys, groups
from hwnas.config.schema import COMMANDS
from hwnas.config.validate import check_value, option_map, unknown_option
from hwnas.core.errors import HwnasError, unknown_choice

_INTERPOLATION = re.compile(r"^\$\{(\w+)\}$")


def parse(argv: list[str]) -> tuple[list[Any], bool] | None:
    """Hydra's parse of a command line: its overrides and whether it is a multirun (None if it will not parse
    as Hydra's arguments; Hydra then reports that itself)."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        args, _ = get_args_parser().parse_known_args(argv)
    except SystemExit:
        return None
    try:
        return OverridesParser.create().parse_overrides(args.overrides), bool(args.multirun)
    except OverrideParseException as exc:
        raise HwnasError(f"cannot parse an override: {str(exc).splitlines()[0]}") from None


def values_of(override: Any) -> list[Any] | None:
    """The values an override sets (each value of a sweep); None where they are not enumerable."""
    from hydra.core.override_parser.types import ValueType

    if override.is_delete():
        return []
    if override.value_type in (ValueType.GLOB_CHOICE_SWEEP, ValueType.INTERVAL_SWEEP):
        return None
    if override.is_sweep_override():
        return list(override.sweep_iterator())
    return [override.value()]


def check_command_line(config_name: str | None, argv: list[str]) -> None:
    """Refuse, in one line, a command line that Hydra would reject with a long message or run wrongly."""
    parsed = parse(argv)
    if parsed is None:
        return
    overrides, multirun = parsed
    known = set(groups())
    opts = option_map(config_name) if config_name in COMMANDS else None
    chosen = {node: (group, [choice]) for node, (group, choice) in
              (command_groups(config_name).items() if config_name in COMMANDS else ())}
    nested = []
    for override in overrides:
        key = override.key_or_group
        if key.startswith("hydra"):  # hydra.run.dir=..., hydra/launcher=...
            continue
        if override.is_sweep_override() and not multirun:
            raise HwnasError(f"{override.input_line} is a sweep: add -m (--multirun) to run one job per value, "
                             "or write a list as [a,b]")
        if key in known:
            values = values_of(override)
            _check_choices(key, values)
            chosen[override.package or key] = (key, values)
            continue
        if opts is None:
            continue
        head, _, rest = key.partition(".")
        if head not in opts:
            raise unknown_option(config_name, head)
        if opts[head].is_group:
            if not rest:
                group = chosen.get(head, ("<group>",))[0]
                raise HwnasError(f"{head} is a config node: choose its file with {group}@{head}=<choice>")
            nested.append((override, head, rest))
            continue
        _check_option(config_name, override, head, rest)
    for override, head, rest in nested:
        if not (override.is_add() or override.is_force_add() or override.is_delete()):
            _check_group_key(override, head, rest, chosen)


def _check_choices(group: str, values: list[Any] | None) -> None:
    choices = group_choices(group)
    for value in values or []:
        if value is not None and str(value) not in choices:
            raise unknown_choice(group.replace("_", " "), str(value), choices)


def _check_option(config_name: str, override: Any, key: str, rest: str) -> None:
    if rest:
        raise HwnasError(f"{key} is an option, not a config node: {key}.{rest} has no meaning")
    if override.is_delete():
        raise HwnasError(f"~{key}: an option cannot be removed; set it instead ({key}=<value>)")
    if override.is_add():
        raise HwnasError(f"{key} is an option already: drop the '+' ({override.input_line.lstrip('+')})")
    for value in values_of(override) or []:
        if not (isinstance(value, str) and "${" in value):  # interpolations resolve later
            check_value(config_name, key, value)


def _check_group_key(override: Any, node: str, rest: str, chosen: dict) -> None:
    """`oracle.episods=3`: the chosen group file must have the key (Hydra says so in several lines)."""
    group, names = chosen.get(node, (None, None))
    for name in _resolved(names, chosen):
        keys = group_keys(group, name)
        sub = rest.split(".")[0]
        if keys is None or sub in keys:
            continue
        label = group if node == group else f"{group}@{node}"
        keys = [k for k in keys if not k.startswith("_")]
        close = difflib.get_close_matches(sub, keys, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(f'{node}.{k}' for k in close)}?" if close else ""
        valid = ", ".join(f"{node}.{k}" for k in keys) or "none"
        raise HwnasError(f"unknown option '{node}.{sub}' for {label}={name}.{hint} Valid: {valid} "
                         f"(+{node}.{rest}=... adds a key the file lacks)")


def _resolved(names: list[Any] | None, chosen: dict) -> list[str]:
    """Choices with `${space}`-style interpolations replaced by that node's choices."""
    out = []
    for name in names or []:
        match = _INTERPOLATION.match(str(name)) if name is not None else None
        if match:
            out += _resolved(chosen.get(match.group(1), (None, []))[1], {})
        elif name is not None:
            out.append(str(name))
    return out
