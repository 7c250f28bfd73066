"""`hwnas <command> [Hydra overrides]`: each command is a module in `hwnas.cli.commands` with a
`CONFIG_NAME` (its YAML file in `conf/`) and a `run(cfg)` function."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

from hwnas.core.errors import HwnasError, unknown_choice


def available_commands() -> dict[str, str]:
    """command name -> module name (`meta_train.py` is `hwnas meta-train`)."""
    import hwnas.cli.commands

    return {m.name.replace("_", "-"): m.name for m in pkgutil.iter_modules(hwnas.cli.commands.__path__)
            if not m.name.startswith("_")}


def _usage(commands: dict[str, str]) -> str:
    lines = ["usage: hwnas <command> [Hydra overrides, e.g. space=nasbench201 device=pixel3 budget_ms=6.5]",
             "", "commands:"]
    for name, module in sorted(commands.items()):
        doc = (importlib.import_module(f"hwnas.cli.commands.{module}").__doc__ or "").strip().splitlines()
        lines.append(f"  {name:<14} {doc[0] if doc else ''}")
    lines.append("\n`hwnas <command> --help` lists the command's options and config groups.")
    return "\n".join(lines)


def _fail(command: str, message: str) -> None:
    print(f"hwnas {command}: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = available_commands()
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(commands))
        return
    command, overrides = argv[0], argv[1:]
    if command not in commands:
        _fail("", str(unknown_choice("command", command, commands)))
    module = importlib.import_module(f"hwnas.cli.commands.{commands[command]}")
    if hasattr(module, "main"):  # commands that take plain arguments rather than Hydra overrides
        try:
            module.main(overrides)
        except HwnasError as exc:
            _fail(command, str(exc))
        return

    from hwnas.config import check_overrides, conf_dir, hydra_searchpath_override

    try:
        check_overrides(overrides)
    except HwnasError as exc:
        _fail(command, str(exc))

    import hydra

    def task(cfg) -> None:
        from hydra.core.hydra_config import HydraConfig

        runtime = HydraConfig.get().runtime  # the only place Hydra's globals are read: commands get plain values
        wants = inspect.signature(module.run).parameters
        extra = {"run_dir": Path(runtime.output_dir), "choices": dict(runtime.choices)}
        try:
            module.run(cfg, **{k: v for k, v in extra.items() if k in wants})
        except HwnasError as exc:
            from hydra.types import RunMode

            if HydraConfig.get().mode == RunMode.MULTIRUN:  # one failed job must not stop a sweep
                print(f"hwnas {command}: job {HydraConfig.get().job.num} failed: {exc}", file=sys.stderr)
                return
            _fail(command, str(exc))

    sys.argv = [f"hwnas {command}", *overrides, *hydra_searchpath_override()]
    hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=module.CONFIG_NAME)(task)()

