"""`hwnas <command> [Hydra overrides]`: each command is a module in `hwnas.cli.commands` with a
`CONFIG_NAME` (its YAML file in `conf/`, typed by its schema in `hwnas.config.schema`) and a `run(cfg)`
function; a command with a `main(argv)` takes plain arguments instead."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import pkgutil
import sys
from pathlib import Path

from hwnas.core.errors import HwnasError, unknown_choice

HELP_FLAGS = ("-h", "--help")


def available_commands() -> dict[str, str]:
    """command name -> module name (`meta_train.py` is `hwnas meta-train`)."""
    import hwnas.cli.commands

    return {m.name.replace("_", "-"): m.name for m in pkgutil.iter_modules(hwnas.cli.commands.__path__)
            if not m.name.startswith("_")}


def summary(module: str) -> str:
    """The first line of a command module's docstring, read without importing the module (no torch)."""
    spec = importlib.util.find_spec(f"hwnas.cli.commands.{module}")
    if spec is None or not spec.origin:
        return ""
    with open(spec.origin, encoding="utf-8") as fh:
        doc = ast.get_docstring(ast.parse(fh.read())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _usage(commands: dict[str, str]) -> str:
    lines = ["usage: hwnas <command> [Hydra overrides, e.g. space=nasbench201 device=pixel3 budget_ms=6.5]",
             "", "commands:"]
    for name, module in sorted(commands.items()):
        lines.append(f"  {name:<14} {summary(module)}")
    lines.append("\n`hwnas <command> --help` lists the command's options and config groups.")
    return "\n".join(lines)


def _fail(command: str, message: str) -> None:
    print(f"hwnas {command}: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except BrokenPipeError:  # output piped into a reader that closed early (`hwnas search --help | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = available_commands()
    if not argv or argv[0] in (*HELP_FLAGS, "help"):
        print(_usage(commands))
        return
    command, overrides = argv[0], argv[1:]
    if command not in commands:
        _fail("", str(unknown_choice("command", command, commands)))
    name = commands[command]

    from hwnas.config import COMMANDS, PLAIN, command_help

    if name in {**COMMANDS, **PLAIN} and any(arg in HELP_FLAGS for arg in overrides):
        print(command_help(name, summary(name)))
        return
    if name in COMMANDS:  # checked before the command (and torch) is imported: a typo costs no time
        _check(command, overrides, name)
    module = importlib.import_module(f"hwnas.cli.commands.{name}")
    if hasattr(module, "main"):  # commands that take plain arguments rather than Hydra overrides
        try:
            module.main(overrides)
        except HwnasError as exc:
            _fail(command, str(exc))
        return
    if name not in COMMANDS:  # a Hydra command without a schema: group choices only
        _check(command, overrides, None)
    _run_hydra(command, module, overrides)


def _check(command: str, overrides: list[str], schema: str | None) -> None:
    from hwnas.config import check_overrides

    try:
        check_overrides(overrides, schema)
    except HwnasError as exc:
        _fail(command, str(exc))


def _run_hydra(command: str, module, overrides: list[str]) -> None:
    import hydra

    from hwnas.cli import guard
    from hwnas.config import COMMANDS, conf_dir, hydra_searchpath_override, validate

    def task(cfg) -> None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        runtime = HydraConfig.get().runtime  # the only place Hydra's globals are read: commands get plain values
        wants = inspect.signature(module.run).parameters
        extra = {"run_dir": Path(runtime.output_dir), "choices": dict(runtime.choices)}
        sweep = HydraConfig.get().mode == RunMode.MULTIRUN
        fresh = guard.untouched(extra["run_dir"])
        try:
            if module.CONFIG_NAME in COMMANDS:
                validate(module.CONFIG_NAME, cfg)
            module.run(cfg, **{k: v for k, v in extra.items() if k in wants})
            if sweep:
                guard.clear_failed_mark(extra["run_dir"])
        except KeyboardInterrupt:
            hint = f"; resume it with: {guard.resume_hint(command, overrides, extra['run_dir'])}" \
                if command == "search" and not sweep else ""
            print(f"hwnas {command}: interrupted{hint}", file=sys.stderr)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - a sweep job's error of any kind must not stop the sweep
            if not sweep:
                if isinstance(exc, HwnasError):
                    guard.discard_refused_run(extra["run_dir"], fresh)  # a refusal writes nothing
                    _fail(command, str(exc))
                raise
            job = HydraConfig.get().job.num
            print(f"hwnas {command}: job {job} failed: {guard.one_line(exc)}", file=sys.stderr)
            guard.record_failed_job(job, guard.one_line(exc), extra["run_dir"])

    try:
        guard.check_output_folder(conf_dir() / f"{module.CONFIG_NAME}.yaml", overrides)
    except HwnasError as exc:
        _fail(command, str(exc))
    sys.argv = [f"hwnas {command}", *overrides, *hydra_searchpath_override()]
    multirun = any(a in guard.MULTIRUN_FLAGS for a in overrides)
    root = guard.output_folder(conf_dir() / f"{module.CONFIG_NAME}.yaml", overrides) if multirun else None
    with guard.SweepFailures(root) as failures:
        hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=module.CONFIG_NAME)(task)()
        failed = failures.failed_jobs()
    if failed:
        _fail(command, f"{len(failed)} sweep job(s) failed (job {', '.join(map(str, failed))}); the others ran")
