"""NASFLAT's transfers (`nasflat_train.transfer`) run one after another or, on Linux, on several cores at once.

An adaptation runs one transfer per network on all samples and one per read-out fold (15 for three networks), each
hundreds of small optimiser steps bound by per-call overhead, so one core each is what speeds them up. Every transfer
seeds its own randomness and trains on one thread, so the networks are the same to the bit either way.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import torch

from hwnas.core.errors import HwnasError
from hwnas.measure.timing import TRAINING_THREADS
from hwnas.predictors.nasflat_model import GraphBatch, NasflatNet
from hwnas.predictors.nasflat_train import TransferConfig, transfer


@dataclass(frozen=True)
class TransferJob:
    """The arguments of one `transfer`: the pre-trained network, the samples it is fine-tuned on, its start."""

    net: NasflatNet
    graphs: GraphBatch
    latency_ms: np.ndarray
    init: object
    cfg: TransferConfig

    def run(self) -> NasflatNet:
        return transfer(self.net, self.graphs, self.latency_ms, self.init, self.cfg)


_POOL_JOBS: list[TransferJob] = []     # the running pool's jobs; forked workers inherit them instead of unpickling


def _run_in_worker(index: int) -> tuple[dict, torch.Tensor]:
    torch.set_num_threads(TRAINING_THREADS)
    net = _POOL_JOBS[index].run()
    return net.state_dict(), torch.get_rng_state()


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether worker processes may be forked here: Linux (fork is unsafe on macOS, missing on Windows), and not from
    a daemonic process (a multiprocessing pool's worker may not have children)."""
    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


def run_transfers(jobs: list[TransferJob], workers: int) -> list[NasflatNet]:
    """Each job's fine-tuned network, in order, on up to `workers` forked processes (one: in this process). The
    global torch generator ends where the last job left it, as when the jobs run in turn."""
    global _POOL_JOBS
    workers = min(workers, len(jobs))
    if workers <= 1 or not can_fork():
        return [job.run() for job in jobs]
    _POOL_JOBS = jobs
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_run_in_worker, range(len(jobs))))
    except BrokenProcessPool:
        raise HwnasError("oracle nasflat: a transfer worker process died (killed, or out of memory); "
                         "transfer_workers=1 runs the transfers in this process") from None
    finally:
        _POOL_JOBS = []
    nets = []
    for job, (state, _) in zip(jobs, results):
        net = copy.deepcopy(job.net)
        net.load_state_dict(state)
        net.eval()
        nets.append(net)
    torch.set_rng_state(results[-1][1])
    return nets
