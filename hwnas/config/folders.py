"""Where the config folders are and what their groups and command files hold (the registry is the folder)."""

from __future__ import annotations

import os
from pathlib import Path

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
    """Every config group (a sub-folder of a config folder)."""
    return sorted({p.name for folder in conf_dirs() for p in folder.iterdir()
                   if p.is_dir() and not p.name.startswith(("_", "."))})


def is_global(group: str, name: str) -> bool:
    """Whether a group's choice is a `# @package _global_` file (e.g. `+launcher=local`), not a node."""
    with open(group_file(group, name)) as fh:
        return any(line.replace(" ", "").startswith("#@package_global_") for line in fh)


def command_groups(config_name: str) -> dict[str, tuple[str, str | None]]:
    """node -> (config group, default choice) from a command file's defaults list (`oracle@meter: measured`
    gives meter -> (oracle, measured); a choice may be an interpolation such as `${space}`)."""
    import yaml

    data = yaml.safe_load((conf_dir() / f"{config_name}.yaml").read_text()) or {}
    out = {}
    for entry in data.get("defaults") or []:
        for key, choice in (entry.items() if isinstance(entry, dict) else ()):
            if " " in key or key.startswith("hydra"):
                continue
            group, _, package = key.partition("@")
            out[package or group] = (group, choice)
    return out


def group_keys(group: str, name: str) -> list[str] | None:
    """The top-level keys of a group's choice (None where its file has its own defaults list or package)."""
    import yaml

    text = group_file(group, name).read_text()
    if "@package" in text:
        return None
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or "defaults" in data:
        return None
    return [str(k) for k in data]
