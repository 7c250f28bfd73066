"""One `threads` setting for every torch computation of a command: set before torch loads or after, applied
by the Session (search, predict, calibrate); HELP's implicit meta-training runs on TRAINING_THREADS and says its
time left."""

from __future__ import annotations

import os
import subprocess
import sys

from cli_runner import hwnas

TINY_HELP = ["oracle=help", "oracle.episodes=3", "oracle.inner_tasks=2", "oracle.query=10", "oracle.valid_every=1",
             "oracle.mc_samples=1", "oracle.layer_size=8", "oracle.valid_query_rows=50"]


def python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_threads_apply_before_and_after_torch_is_imported():
    # torch's default is one thread per core (and it caps OMP_NUM_THREADS there): 1 and 2 differ on 2+ cores
    assert python("from hwnas.measure.timing import set_compute_threads as s; s(1); import torch; "
                  "print(torch.get_num_threads()); s(2); print(torch.get_num_threads())") == ["1", "2"]


def test_a_session_sets_the_commands_threads():
    assert python("import hwnas, torch; torch.set_num_threads(2); "
                  "hwnas.Session.compose('search', ['strategy=gp']); print(torch.get_num_threads())") == ["1"]


def test_implicit_meta_training_runs_on_the_training_threads_and_says_its_time_left(tmp_path):
    """threads=2 sets the command's threads, but HELP meta-trains on TRAINING_THREADS (one model per seed)."""
    result = hwnas("predict", *TINY_HELP, "threads=2", f"hydra.run.dir={tmp_path / 'run'}",
                   f"out={tmp_path / 'p.csv'}", env={"HWNAS_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "meta-training HELP" in result.stderr
    assert "on 1 torch thread(s): about" in result.stderr and " left" in result.stderr
