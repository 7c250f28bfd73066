"""Write an oracle's latency prediction for every architecture of the space's data set to CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hwnas.core.errors import HwnasError
from hwnas.data.cache import writable_folder
from hwnas.engine.session import Session

CONFIG_NAME = "predict"


def run(cfg, run_dir: Path, choices: dict[str, str]) -> pd.DataFrame:
    out = Path(str(cfg.out))
    if out.is_dir():
        raise HwnasError(f"out={out} is a folder; name the CSV file to write")
    writable_folder(out.parent, "folder of out=")  # before predicting, not after
    session = Session(cfg, run_dir=run_dir, choices=choices, check_budget=False)
    table = session.predict()
    oracle, frame, measured_rows = session.oracle, table["frame"], table["measured_rows"]
    frame.to_csv(out, index=False)
    ledger = session.ledger
    print(f"wrote {len(frame):,} predictions of oracle {oracle.name} for {cfg.device} to {out} "
          f"(predicting took {table['predict_s'] * 1e3:.1f} ms)")
    print(f"target-device measurements: {ledger.target_measurements['adapt']} for adaptation"
          + (f" (table rows {sorted(measured_rows)})" if measured_rows else "")
          + f", {ledger.target_measurements['setup']} in setup")
    print(f"Spearman rank correlation with {cfg.device}'s table over {table['n_known']:,} architectures: "
          f"{table['spearman']:.4f}")
    return frame
