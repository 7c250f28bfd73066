"""hwnas: hardware-aware neural architecture search with pluggable latency oracles."""

__version__ = "0.1.0"
