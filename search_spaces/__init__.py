"""Search spaces (one per file), instantiated from `conf/space/` by `_target_`."""
