"""Configuration: where `conf/` is, which choices each config group offers, and instantiation
that turns a constructor's complaint into a one-line HwnasError."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from hwnas.core.errors import HwnasError, unknown_choice


ENV_CONFIG_PATH = "HWNAS_CONFIG_PATH"


def conf_dir() -> Path:
    """The shipped config folder (package data `hwnas.conf` when installed, `conf/` in a checkout)."""
    try:
        import hwnas.conf as shipped  # mapped from conf/ by pyproject.toml

        return Path(shipped.__file__).resolve().parent
    except ImportError:
        return Path(__file__).resolve().parents[2] / "conf"


def conf_dirs() -> list[Path]:
    """Every config folder, shipped first: a user's own plug-in configs join through `$HWNAS_CONFIG_PATH`
    (folders separated by the OS path separator, each laid out like `conf/`, e.g. `space/tiny.yaml`)."""
    extra = [Path(p).expanduser().resolve() for p in os.environ.get(ENV_CONFIG_PATH, "").split(os.pathsep) if p]
    for path in extra:
        if not path.is_dir():
            raise HwnasError(f"{ENV_CONFIG_PATH} names {path}, which is not a folder")
    return [conf_dir(), *extra]


def hydra_searchpath_override() -> list[str]:
    """The Hydra override that adds the user's config folders to the search path (none without them)."""
    extra = conf_dirs()[1:]
    return [f"hydra.searchpath=[{','.join(f'file://{p}' for p in extra)}]"] if extra else []


def group_choices(group: str) -> list[str]:
    """Names of the YAML files of a config group over every config folder (the registry is the folder)."""
    return sorted({p.stem for folder in conf_dirs() if (folder / group).is_dir()
                   for p in (folder / group).glob("*.yaml")})


def group_file(group: str, name: str) -> Path:
    """The YAML file of one choice of a config group (the first config folder that has it)."""
    for folder in conf_dirs():
        path = folder / group / f"{name}.yaml"
        if path.is_file():
            return path
    raise unknown_choice(group.replace("_", " "), name, group_choices(group))


def groups() -> list[str]:
    return sorted({p.name for folder in conf_dirs() for p in folder.iterdir()
                   if p.is_dir() and not p.name.startswith(("_", "."))})


def check_overrides(overrides: list[str]) -> None:
    """Refuse an unknown choice for a config group (`strategy=evolutoin`) before Hydra composes."""
    known = set(groups())
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep or key not in known or value.startswith(("choice(", "range(", "glob(")):
            continue
        choices = group_choices(key)
        for one in value.split(","):
            if one and one not in choices:
                raise unknown_choice(key.replace("_", " "), one, choices)


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
