"""`hwnas <command> --help`: every option with its type, default and help, the config groups, quickly."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_runner import hwnas

from hwnas.config import COMMANDS, PLAIN, command_groups, group_choices, schema_for
from hwnas.config.fields import options
from hwnas.config.help import default_text


@pytest.mark.parametrize("command", sorted([*COMMANDS, *PLAIN]))
def test_help_lists_every_option_and_group(command):
    shown = command.replace("_", "-")
    result = hwnas(shown, "--help")
    assert result.returncode == 0 and not result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"usage: hwnas {shown}")
    for opt in options(schema_for(command)):
        if opt.is_group:
            continue
        row = next((line for line in lines if line.split()[:1] == [opt.name]), None)
        assert row is not None, opt.name
        assert opt.type in row and default_text(opt.default) in row and opt.help in row
        if opt.limits():
            assert f"[{opt.limits()}]" in row
    if command in COMMANDS:
        for node, (group, _) in command_groups(command).items():
            row = next(line for line in lines if line.split()[:1] == [node])
            assert ", ".join(group_choices(group)) in row


def test_help_flag_anywhere_and_short_form():
    assert "budget_ms" in hwnas("search", "device=raspi4", "-h").stdout


def test_top_level_help_still_lists_the_commands():
    result = hwnas("--help")
    assert result.returncode == 0
    for name in ("search", "predict", "calibrate", "measure", "meta-train", "monotonicity", "describe", "report"):
        assert f"  {name} " in result.stdout


def test_report_help_is_argparse():
    result = hwnas("report", "--help")
    assert result.returncode == 0 and "folders" in result.stdout


def test_help_imports_neither_torch_nor_numpy():
    # What keeps --help fast (0.1-0.3 s idle; measured, not timed here: a loaded CI machine varies 10x).
    code = ("import sys; from hwnas.cli import main; main(['search', '--help']); "
            "print('torch' in sys.modules, 'numpy' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stderr.split() == ["False", "False"]


def test_help_piped_into_a_reader_that_stops_early_is_no_traceback():
    import subprocess
    import sys

    result = subprocess.run(f"{sys.executable} -m hwnas.cli search --help | head -1", shell=True,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("usage: hwnas search") and "Traceback" not in result.stderr
