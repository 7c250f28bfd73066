"""An hwnas latency oracle as an NNI profiler, so an NNI search can be latency-constrained by it.

    from hwnas.nni.profiler import HwnasLatencyProfiler, latency_filter
    profiler = HwnasLatencyProfiler.from_config(model_space, oracle="lut", device="raspi4")
    keep = latency_filter(profiler, budget_ms=25.0)       # NNI's RangeProfilerFilter(max=budget)

Needs nni 3.0 (`pip install 'hwnas[nni]'`). Only NNI's NAS-Bench-201 hub space is converted here.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
from nni.nas.profiler import Profiler

from hwnas.core.errors import HwnasError
from hwnas.core.oracle import LatencyOracle
from hwnas.nni.nb201 import from_nni_sample, from_nni_samples


class HwnasLatencyProfiler(Profiler):
    """`profile(sample)` = the oracle's latency (ms) of the NNI sample; answers are cached per arch."""

    def __init__(self, model_space, oracle: LatencyOracle, label: str = "cell"):
        super().__init__(model_space)
        if oracle.space.name != "nasbench201":
            raise HwnasError(f"hwnas_nni converts NNI's NAS-Bench-201 space only; the oracle is for "
                             f"{oracle.space.name}")
        self.oracle, self.label = oracle, label
        self._cache: dict[tuple, float] = {}

    @classmethod
    def from_config(cls, model_space, oracle: str = "lut", device: str = "raspi4", samples: int = 10,
                    seed: int = 0, label: str = "cell") -> "HwnasLatencyProfiler":
        """Build `conf/oracle/<oracle>.yaml` for `device` and adapt it on its reference archs
        (measured from the device's table, as `hwnas search` does)."""
        from hwnas.data import devices
        from hwnas.config import conf_dir, group_choices
        from hwnas.core.errors import unknown_choice
        from hwnas.engine.target import measure_on_target
        from hwnas.testing import oracle_factory
        from hwnas.search_spaces.nasbench201 import NasBench201

        if oracle not in group_choices("oracle"):
            raise unknown_choice("oracle", oracle, group_choices("oracle"))
        space = NasBench201()
        built = oracle_factory(conf_dir() / "oracle" / f"{oracle}.yaml", samples=samples, seed=seed)(space, device)
        references = built.reference_archs()
        if references:
            built.adapt(references, measure_on_target(space, device, devices.latency_ms(space.name, device),
                                                      references))
        return cls(model_space, built, label)

    def profile(self, sample: Mapping) -> float:
        arch = from_nni_sample(sample, self.label)
        if arch not in self._cache:
            self._cache[arch] = float(np.asarray(self.oracle.predict_ms([arch]))[0])
        return self._cache[arch]

    def profile_many(self, samples: Iterable[Mapping]) -> np.ndarray:
        """Latency (ms) of many samples in one batched oracle call."""
        return np.asarray(self.oracle.predict_ms(from_nni_samples(samples, self.label)), dtype=float)


def latency_filter(profiler: HwnasLatencyProfiler, budget_ms: float):
    """NNI's filter that keeps samples with latency_ms <= budget_ms (hwnas's sign convention)."""
    from nni.nas.oneshot.pytorch.profiler import RangeProfilerFilter

    return RangeProfilerFilter(profiler, max=float(budget_ms))
