"""Every third-party module the package and its plug-ins import is a declared dependency of pyproject.toml
(or, imported only inside functions, an optional extra: Ray for executor=ray)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("hwnas", "predictors", "evaluators", "strategies", "search_spaces")  # hwnas_nni: the [nni] extra


def _imported_top_levels() -> dict[str, str]:
    """Top-level module -> one file importing it (module level or inside a function), stdlib left out."""
    found: dict[str, str] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "hwnas":
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _module_level_top_levels() -> set[str]:
    """Top-level modules imported at module level somewhere (not only inside a function)."""
    found: set[str] = set()
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_distribution_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalise(re.match(r"[A-Za-z0-9_.-]+", r).group()) for r in project["dependencies"]}
    assert {"filelock", "sqlalchemy"} <= declared
    distributions = importlib.metadata.packages_distributions()
    imported = _imported_top_levels()
    assert {"torch", "filelock", "sqlalchemy"} <= set(imported)
    optional = {_normalise(re.match(r"[A-Za-z0-9_.-]+", r).group())
                for extra in project["optional-dependencies"].values() for r in extra}
    eager = _module_level_top_levels()
    missing = {module: where for module, where in imported.items()
               if not any(_normalise(d) in declared or (module not in eager and _normalise(d) in optional)
                          for d in distributions.get(module, [module]))}
    assert not missing, f"imported but not declared in [project] dependencies: {missing}"
    assert "ray" in imported and "ray" not in eager   # only lazily, by hwnas.measure.remote_ray
