"""Search strategies (one per file), instantiated from `conf/strategy/` by `_target_`."""
