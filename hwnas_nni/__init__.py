"""Optional NNI adapter (NNI 3.0, Microsoft; archived): an hwnas latency oracle as the latency
constraint of an NNI search, and NNI's NAS-Bench-201 hub samples to and from hwnas archs.

The core (`hwnas`, the plug-in folders) never imports this package. `hwnas.nni.nb201` needs no nni;
`hwnas.nni.profiler` does (`pip install 'hwnas[nni]'`).
"""

from hwnas.nni.nb201 import NNI_OPS, from_nni_sample, from_nni_samples, to_nni_sample

__all__ = ["NNI_OPS", "from_nni_sample", "from_nni_samples", "to_nni_sample"]
