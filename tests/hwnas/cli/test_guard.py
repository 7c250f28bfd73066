"""The CLI's checks around a Hydra command: the output folder known before composing, the resume command."""

from __future__ import annotations

import shlex
from pathlib import Path

from hwnas.cli import guard
from hwnas.config import conf_dir


def test_output_folder_is_the_literal_part_of_the_run_or_sweep_dir():
    search = conf_dir() / "search.yaml"
    assert guard.output_folder(search, []) == Path("runs/search")  # runs/search/${now:...}_...
    assert guard.output_folder(search, ["-m"]) == Path("runs/multirun")
    assert guard.output_folder(search, ["hydra.run.dir=/x/y"]) == Path("/x/y")
    assert guard.output_folder(search, ["hydra.run.dir=/x/${now:%H}"]) == Path("/x")
    assert guard.output_folder(search, ["hydra.run.dir=/a", "++hydra.run.dir=/b/c"]) == Path("/b/c")
    assert guard.output_folder(search, ["--multirun", "hydra.sweep.dir=/s"]) == Path("/s")


def test_hydra_flags_are_not_checked(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    guard.check_output_folder(conf_dir() / "search.yaml", ["--cfg", "job", f"hydra.run.dir={blocker}/run"])


def test_resume_hint_keeps_the_overrides_and_names_the_folder(tmp_path):
    run_dir = tmp_path / "my run"
    hint = guard.resume_hint("search", ["device=pixel3", "hydra.run.dir=old", "resume=false", "budget_ms=6.5"],
                             run_dir)
    assert shlex.split(hint) == ["hwnas", "search", "device=pixel3", "budget_ms=6.5", f"hydra.run.dir={run_dir}",
                                 "resume=true"]
