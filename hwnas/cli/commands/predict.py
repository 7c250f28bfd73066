"""Write an oracle's latency prediction for every architecture of the space's data set to CSV."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from hwnas.engine.session import build_components
from hwnas.core.subspace import TableSubspace

CONFIG_NAME = "predict"


def run(cfg) -> pd.DataFrame:
    parts = build_components(cfg, with_evaluator=False, check_budget=False)
    space, oracle = parts.space, parts.oracle
    rows = space.rows if isinstance(space, TableSubspace) else np.arange(len(parts.true_latency_ms))
    archs = np.asarray(space.table_archs())[rows]
    start = time.perf_counter()
    predicted = np.asarray(oracle.predict_ms(archs), dtype=float)
    predict_s = time.perf_counter() - start

    references = oracle.reference_archs()
    measured_rows = set(np.asarray(space.table_index(references), dtype=int).tolist()) if references else set()
    arch_tuples = [tuple(int(v) for v in a) for a in archs]
    frame = pd.DataFrame({
        "index": rows,
        "arch": [space.to_string(a) for a in arch_tuples],
        "predicted_ms": predicted,
        "measured": [int(r) in measured_rows for r in rows],
    })
    if arch_tuples and space.to_data_form(arch_tuples[0]) != frame["arch"].iloc[0]:
        frame["data_form"] = [json.dumps(space.to_data_form(a), separators=(",", ":")) for a in arch_tuples]
    out = Path(str(cfg.out))
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)

    truth = parts.true_latency_ms[rows]
    known = np.isfinite(truth)
    rho = spearmanr(predicted[known], truth[known]).statistic if known.sum() > 2 else float("nan")
    ledger = parts.ledger
    print(f"wrote {len(frame):,} predictions of oracle {oracle.name} for {cfg.device} to {out} "
          f"(predicting took {predict_s * 1e3:.1f} ms)")
    print(f"target-device measurements: {ledger.target_measurements['adapt']} for adaptation"
          + (f" (table rows {sorted(measured_rows)})" if measured_rows else "")
          + f", {ledger.target_measurements['setup']} in setup")
    print(f"Spearman rank correlation with {cfg.device}'s table over {int(known.sum()):,} architectures: {rho:.4f}")
    return frame
