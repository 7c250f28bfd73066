"""The settings contract: a plug-in YAML's every number and true/false setting, given as text, is refused
with a one-line HwnasError when the plug-in is built (before any training), never taken or crashed on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from hwnas.testing._support import expect_hwnas_error

NOT_A_SETTING = "not-a-setting"


def scalar_settings(yaml_path: str | Path) -> list[str]:
    """Dotted keys of the YAML's number and true/false values (nested too; not `${...}` interpolations)."""
    from omegaconf import OmegaConf

    def walk(node: Any, prefix: str) -> Iterator[str]:
        for key in node:
            path = f"{prefix}{key}"
            if OmegaConf.is_interpolation(node, key) or str(key).startswith("_"):
                continue
            value = node[key]
            if OmegaConf.is_dict(value):
                yield from walk(value, f"{path}.")
            elif isinstance(value, (bool, int, float)):
                yield path

    return list(walk(OmegaConf.load(yaml_path), ""))


def check_settings_refused(build: Callable[[str, Any], Any], yaml_path: str | Path) -> None:
    """`build(key, value)` builds the plug-in with one setting replaced; each scalar setting given as text must
    raise a one-line HwnasError (`hwnas.testing._support.expect_hwnas_error`)."""
    keys = scalar_settings(yaml_path)
    for key in keys:
        expect_hwnas_error(f"{Path(yaml_path).stem}: {key}={NOT_A_SETTING!r}", lambda: build(key, NOT_A_SETTING))
