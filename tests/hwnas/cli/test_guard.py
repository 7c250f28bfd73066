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


def test_a_failed_job_on_another_machine_is_counted_from_its_mark_in_the_sweep_folder(tmp_path):
    import os
    import time

    stale = tmp_path / "old_sweep" / "0" / guard.FAILED_MARK
    stale.parent.mkdir(parents=True)
    stale.write_text("0 an older sweep's failure\n")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    with guard.SweepFailures(tmp_path) as failures:
        # a job on another machine: it does not see this machine's temporary folder, only the shared runs folder
        here = os.environ.pop(guard.FAILURES_ENV)
        guard.record_failed_job(3, "HwnasError: no data on this node", tmp_path / "sweep" / "3")
        guard.record_failed_job(4, "ValueError: x", tmp_path / "sweep" / "4")
        os.environ[guard.FAILURES_ENV] = here
        guard.clear_failed_mark(tmp_path / "sweep" / "4")  # retried and succeeded
        assert failures.failed_jobs() == [3]
    with guard.SweepFailures(Path(".")) as failures:  # never walks the current folder
        assert failures.root is None
