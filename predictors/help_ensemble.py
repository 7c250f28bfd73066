"""The `help_ensemble` oracle: HELP (Lee et al., NeurIPS 2021) with an ensemble chosen on the validation devices.

An improvement over the paper, not part of it. `ensemble` HELP predictors are meta-trained with meta seeds
meta_seed.. (the first is the `help` oracle's cached predictor). Each is adapted on every target measurement
it gets (the 10 reference architectures, whose latencies HELP measures for the embedding anyway, plus any
extra samples), and the prediction is the mean over a subset of members: the subset whose mean ranks HELP's
meta-validation devices best (10 samples + references, `select_seeds` draws) — the same devices HELP uses to
pick its checkpoint, never a target device. The choice is computed once per set of members and cached.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import torch
from scipy.stats import spearmanr

from hwnas.core.errors import HwnasError, whole_number
from hwnas.core.space import SearchSpace
from hwnas.data.cache import atomic_write_json
from hwnas.predictors import help_cache
from hwnas.predictors.help import N_REFERENCE, HelpOracle
from hwnas.predictors.help_meta import SpaceData, device_task


def member_scores(learners, sd: SpaceData, seeds: int) -> dict[tuple[int, ...], float]:
    """Mean Spearman on the validation devices of every non-empty subset of `learners` (mean prediction)."""
    cfg = learners[0].cfg
    subsets = [c for r in range(len(learners), 0, -1) for c in itertools.combinations(range(len(learners)), r)]
    scores = {c: [] for c in subsets}
    for device in cfg.valid_devices:
        task = device_task(sd, device, cfg)
        for seed in range(seeds):
            support = np.r_[sd.reference_rows,
                            np.random.default_rng(seed).choice(task.train_rows, cfg.support, replace=False)]
            preds = []
            for learner in learners:
                torch.manual_seed(seed)
                preds.append(learner.predict(task.hw_embed, sd.take(support), torch.from_numpy(task.y[support]),
                                             sd.take(task.query_rows), cfg.inner_steps, cfg.mc_samples))
            preds = np.asarray(preds)
            for c in subsets:
                scores[c].append(spearmanr(preds[list(c)].mean(axis=0), task.y[task.query_rows]).statistic)
    return {c: float(np.mean(v)) for c, v in scores.items()}


def select_members(space: SearchSpace, configs, learners, sd: SpaceData, seeds: int) -> tuple[list[int], dict]:
    """The validation-best subset of members (larger subsets win ties), cached beside the members' weights."""
    keys = [help_cache.cache_key(space, c) for c in configs]
    digest = hashlib.sha256(json.dumps({"members": keys, "seeds": seeds}, sort_keys=True).encode()).hexdigest()[:20]
    path = help_cache.cache_dir() / "help" / f"{space.name}-select-{digest}.json"
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
            return [int(i) for i in stored["members"]], stored["scores"]
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: recompute and overwrite
    scores = member_scores(learners, sd, seeds)
    best = max(scores, key=scores.get)          # dict order: larger subsets first, so they win ties
    named = {",".join(map(str, c)): round(v, 4) for c, v in scores.items()}
    atomic_write_json(path, {"members": list(best), "scores": named}, indent=1)
    return list(best), named


class HelpEnsembleOracle(HelpOracle):
    """HELP predictors of several meta seeds, adapted on all target measurements, averaged over the subset
    of members that ranks the validation devices best."""

    name = "help_ensemble"

    def __init__(self, space: SearchSpace, device: str, samples: int = N_REFERENCE, seed: int = 0,
                 train_if_missing: bool = True, eval_steps: int | None = None, ensemble: int = 3,
                 select_seeds: int = 3, **meta):
        if whole_number("oracle help_ensemble", "ensemble", ensemble) < 2:
            raise HwnasError(f"oracle help_ensemble: ensemble must be >= 2 (1 is the `help` oracle), got {ensemble}")
        select_seeds = whole_number("oracle help_ensemble", "select_seeds", select_seeds, 1)
        super().__init__(space, device, samples=samples, seed=seed, train_if_missing=train_if_missing,
                         eval_steps=eval_steps, ensemble=ensemble, **meta)
        self.selected, self.selection_scores = select_members(space, self.configs, self.learners, self.data,
                                                              int(select_seeds))
        self.learners = [self.learners[i] for i in self.selected]


def meta_train_oracle(space: SearchSpace, force: bool = False, select_seeds: int = 3, **options) -> dict:
    """`hwnas meta-train oracle=help_ensemble`: train (and cache) every member, as for `help`."""
    from hwnas.predictors.help import meta_train_oracle as train_members

    return train_members(space, force=force, **options)
