"""`hwnas <command> --help`: the command's options (type, default, range, help) and its config groups."""

from __future__ import annotations

from typing import Any

from hwnas.config.fields import Option, options
from hwnas.config.folders import command_groups, group_choices, groups, is_global
from hwnas.config.schema import PLAIN
from hwnas.config.validate import schema_for


def default_text(value: Any) -> str:
    """A default as it is typed on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(default_text(v) for v in value) + "]"
    return str(value)


def _table(rows: list[tuple[str, ...]], caps: tuple[int, ...] = (24, 20, 15)) -> list[str]:
    """Aligned columns, the last one free text (a long cell pushes its row, not the column)."""
    widths = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate(caps[:len(rows[0]) - 1])]
    return ["  " + " ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " " + row[-1] for row in rows]


def _option_rows(opts: list[Option]) -> list[tuple[str, ...]]:
    rows = []
    for opt in opts:
        limits = opt.limits()
        rows.append((opt.name, opt.type, default_text(opt.default),
                     opt.help + (f" [{limits}]" if limits else "")))
    return rows


def command_help(command: str, summary: str = "") -> str:
    """The help text of one command (its schema's options; Hydra commands add their config groups)."""
    name = command.replace("-", "_")
    shown = name.replace("_", "-")
    schema = schema_for(name)
    plain = name in PLAIN
    summary = summary or " ".join((schema.__doc__ or "").strip().split("\n\n")[0].split())
    lines = [f"usage: hwnas {shown} key=value ...   (plain text values: no Hydra grammar, no quoting)" if plain
             else f"usage: hwnas {shown} [key=value ...] [group=choice ...] [group.key=value ...] "
                  "[-m key=a,b ...]", "", summary]
    opts = [o for o in options(schema) if not o.is_group]
    sections: dict[str, list[Option]] = {}
    for opt in opts:
        sections.setdefault(opt.section, []).append(opt)
    for section, members in sections.items():
        title = section[:1].lower() + section[1:].rstrip(".") if section else "options"
        lines += ["", f"{title}:", *_table([("name", "type", "default", "help [range or choices]")]
                                            + _option_rows(members))]
    if plain:
        if "space" in {o.name for o in opts}:
            lines += ["", f"spaces: {', '.join(group_choices('space'))}"]
        return "\n".join(lines)
    rows = _group_rows(name, schema)
    if rows:
        lines += ["", "config groups (group=choice; group.key=value sets a key of the chosen file, "
                      "+group.key=value adds one):", *_table(rows)]
    lines += ["", "Hydra: -m runs a sweep (e.g. -m seed=0,1,2 budget_ms=5,6.5); --cfg job prints the composed config; "
                  "--hydra-help lists Hydra's own flags.",
              "Options and defaults are defined in hwnas/config/schema.py; the groups' choices are the YAML files of "
              "conf/<group>/ (and $HWNAS_CONFIG_PATH)."]
    return "\n".join(lines)


def _group_rows(name: str, schema: type) -> list[tuple[str, ...]]:
    """node, default choice, help and choices: the command's groups, then `+group=` ones (e.g. launcher)."""
    rows = []
    helps = {o.name: o.help for o in options(schema) if o.is_group}
    used = command_groups(name)
    for node, (group, default) in used.items():
        prefix = "" if node == group else f"{group}@{node}=<choice> from "
        default = str(default)
        if default.startswith("${"):
            default = f"= {default[2:-1]}"
        rows.append((node, default, f"{helps.get(node, group)}: {prefix}{', '.join(group_choices(group))}"))
    for group in groups():
        global_choices = [c for c in group_choices(group) if is_global(group, c)]
        if global_choices and group not in {g for g, _ in used.values()}:
            rows.append((group, "(none)", f"+{group}=<choice> (e.g. for -m sweeps): {', '.join(global_choices)}"))
    return rows
