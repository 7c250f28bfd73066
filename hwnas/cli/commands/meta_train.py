"""Meta-train an adapting oracle (e.g. HELP) for a space once and cache the weights for every device."""

from __future__ import annotations

import time

from omegaconf import OmegaConf

from hwnas.config import instantiate
from hwnas.core.errors import HwnasError

CONFIG_NAME = "meta_train"


def run(cfg) -> dict:
    from hydra.utils import get_method

    from hwnas.measure.timing import set_compute_threads

    set_compute_threads(int(cfg.threads))
    space = instantiate(cfg.space, "search space")
    options = OmegaConf.to_container(cfg.oracle, resolve=True)
    target = options.pop("_target_")
    try:
        train = get_method(f"{target.rpartition('.')[0]}.meta_train_oracle")
    except Exception:  # noqa: BLE001 - hydra raises several kinds for a missing attribute
        raise HwnasError(f"oracle {target} has no meta-training (no meta_train_oracle in its module)") from None
    started = time.perf_counter()
    summary = train(space, force=bool(cfg.force), **options)
    summary["command_seconds"] = time.perf_counter() - started
    for key, value in summary.items():
        print(f"{key}: {value}")
    return summary
