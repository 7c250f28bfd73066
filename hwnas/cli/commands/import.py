"""Import your own measured latencies (a CSV) into a local device, checked row by row before writing.

    hwnas import space=nasbench201 device=local-myphone file=my_latencies.csv

The CSV has `arch` (the space's text form or the data's JSON form) or `index` (a table row), then
`latency_ms`, and optionally `std_ms`, `runtime`, `batch_size`, `note`; `kind=phone` (or any kind of
hwnas.core.records.DEVICE_KINDS) says what the device is. The device then works with
`oracle=lut` and every adapting oracle (on the rows it covers), `search`, `predict` and verify.
Arguments are plain key=value pairs (`ImportOptions` in hwnas.config.schema).
"""

from __future__ import annotations

from hwnas.config import parse_plain
from hwnas.core.errors import HwnasError

CONFIG_NAME = "import"


def run_import(cfg: dict) -> dict:
    """Import `cfg['file']` into `cfg['device']` of `cfg['space']`; what was written, as a dict."""
    from hwnas.data import devices, importer

    for key in ("device", "file"):
        if not cfg.get(key):
            raise HwnasError(f"give {key}=...: e.g. hwnas import space={cfg['space']} device=local-myphone "
                             "file=my_latencies.csv")
    space = devices.search_space(cfg["space"])
    result = importer.import_table(space, str(cfg["device"]), cfg["file"], kind=cfg.get("kind"))
    stored = devices.require_device(space.name, str(cfg["device"]))
    references = list(space.reference_rows().rows)
    covered = set(devices.coverage(space.name, stored.name).tolist())
    return {"device": stored.name, "kind": stored.kind, "space": space.name, "store_file": str(result.path),
            "imported": result.rows,
            "table_rows": result.table_rows, "off_table": result.off_table, "duplicates_dropped": result.duplicates,
            "device_table_rows": stored.n_archs,
            "reference_rows_missing": [r for r in references if r not in covered]}


def main(argv: list[str]) -> None:
    out = run_import(parse_plain(CONFIG_NAME, argv))
    print(f"imported {out['imported']} latencies into {out['device']} ({out['space']}): {out['table_rows']} table "
          f"rows, {out['off_table']} outside the table"
          + (f", {out['duplicates_dropped']} exact duplicates dropped" if out["duplicates_dropped"] else ""))
    print(f"{out['device']} ({out['kind']}) now has {out['device_table_rows']} table rows measured; store file "
          f"{out['store_file']}")
    missing = out["reference_rows_missing"]
    if missing:
        print(f"oracle=help needs its reference rows measured too; missing: {', '.join(map(str, missing))}")
    print(f"next: hwnas search space={out['space']} device={out['device']} oracle=lut restrict_to_table=true "
          "budget_ms=...")
