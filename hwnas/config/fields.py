"""Declaring a command option (type, default, one-line help, range or choices) and reading it back."""

from __future__ import annotations

import copy
import dataclasses
import numbers
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any

from hwnas.core.errors import HwnasError, unknown_choice

NUMBERS = "numbers"  # `kind` of an option that takes a number or a list of numbers


def option(default: Any, help: str, *, ge: float | None = None, gt: float | None = None,
           choices: Sequence[str] | None = None, kind: str | None = None, label: str | None = None,
           elsewhere: dict[str, str] | None = None) -> Any:
    """A dataclass field for one option; `ge`/`gt`/`choices` apply to each element of a list value, and
    `label` names a choice in errors ('unknown <label> ...', default: the option's name); `elsewhere` maps a
    value users give here by mistake to the setting that means it (`{"ray": "executor=ray"}`)."""
    metadata = {"help": help, "ge": ge, "gt": gt, "choices": tuple(choices) if choices else None, "kind": kind,
                "label": label, "elsewhere": dict(elsewhere) if elsewhere else None}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def group(help: str) -> Any:
    """A dataclass field for a config group's node (its YAML comes from the command's defaults list)."""
    return field(default=MISSING, metadata={"help": help, "group": True})


def extend(base: type, extra: type, name: str, rename: dict[str, str] | None = None) -> type:
    """A dataclass with `base`'s fields, then `extra`'s (renamed by `rename`): one definition of shared options."""
    rename = rename or {}
    hints = typing.get_type_hints(extra)
    section = (extra.__doc__ or extra.__name__).strip().splitlines()[0]
    added = [(rename.get(f.name, f.name), hints[f.name], _copy_field(f, section)) for f in dataclasses.fields(extra)]
    cls = dataclasses.make_dataclass(name, added, bases=(base,))
    cls.__module__, cls.__qualname__ = base.__module__, name
    cls.__doc__ = base.__doc__
    return cls


def _copy_field(f: dataclasses.Field, section: str) -> Any:
    metadata = {**f.metadata, "section": section}
    if f.default_factory is not MISSING:
        return field(default_factory=f.default_factory, metadata=metadata)
    return field(default=f.default, metadata=metadata)


@dataclass(frozen=True)
class Option:
    """One option of a command as the help text and the checks see it."""

    name: str
    type: str                     # as shown: int, float, bool, str, "str | null", "list[int]", ...
    default: Any
    help: str
    ge: float | None = None
    gt: float | None = None
    choices: tuple[str, ...] | None = None
    kind: str | None = None
    is_group: bool = False
    nullable: bool = False
    label: str | None = None
    section: str = ""             # the shared set it comes from (e.g. the measurement settings)
    elsewhere: dict | None = None  # a value that belongs to another option -> that option's setting

    def limits(self) -> str:
        """The range or choices in words ('' when any value of the type will do)."""
        if self.choices:
            return " | ".join(self.choices)
        if self.gt is not None:
            return f"> {self.gt:g}"
        if self.ge is not None:
            return f">= {self.ge:g}"
        return ""

    def check(self, value: Any) -> None:
        """Refuse a value outside the option's range or choices (each element of a list)."""
        many = isinstance(value, Sequence) and not isinstance(value, str)
        for one in (value if many else [value]):
            if one is None:
                continue
            if self.kind == NUMBERS and (isinstance(one, bool) or not isinstance(one, numbers.Real)):
                raise HwnasError(f"{self.name} must be a number or a list of numbers, got {value!r}")
            if self.choices and one not in self.choices and one in (self.elsewhere or {}):
                raise HwnasError(f"{self.name}={one} is not a {self.label or self.name}; did you mean "
                                 f"{self.elsewhere[one]}? Valid {self.name}: {', '.join(self.choices)}")
            if self.choices and one not in self.choices:
                raise unknown_choice(self.label or self.name.replace("_", " "), one, self.choices)
            if self.gt is not None and not one > self.gt:
                raise HwnasError(f"{self.name} must be > {self.gt:g}, got {one!r}")
            if self.ge is not None and not one >= self.ge:
                raise HwnasError(f"{self.name} must be >= {self.ge:g}, got {one!r}")


def options(schema: type) -> list[Option]:
    """Every option of a schema dataclass, in declaration order."""
    hints = typing.get_type_hints(schema)
    out = []
    for f in dataclasses.fields(schema):
        meta = f.metadata
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        out.append(Option(
            name=f.name, type="group" if meta.get("group") else type_name(hints[f.name], meta.get("kind")),
            default=None if default is MISSING else default, help=meta.get("help", ""), ge=meta.get("ge"),
            gt=meta.get("gt"), choices=meta.get("choices"), kind=meta.get("kind"),
            is_group=bool(meta.get("group")), nullable=_nullable(hints[f.name]), label=meta.get("label"),
            section=meta.get("section", ""), elsewhere=meta.get("elsewhere")))
    return out


def type_name(annotation: Any, kind: str | None = None) -> str:
    """A type as a user reads it: `int`, `str | null`, `list[str]`."""
    if kind == NUMBERS:
        return "float | list | null"
    if annotation is Any:
        return "any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return " | ".join(type_name(a) for a in inner) + (" | null" if len(inner) < len(args) else "")
    if origin in (list, Sequence):
        return f"list[{type_name(args[0]) if args else 'any'}]"
    return getattr(annotation, "__name__", str(annotation))


def _nullable(annotation: Any) -> bool:
    return annotation is Any or (typing.get_origin(annotation) is typing.Union
                                 and type(None) in typing.get_args(annotation))
