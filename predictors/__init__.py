"""Latency oracles and accuracy evaluators (one per file), instantiated from `conf/` by `_target_`."""
