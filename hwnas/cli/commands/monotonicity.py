"""Latency monotonicity: Spearman matrix over every device pair of a data set (CSV + heatmap PNG)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwnas.config import group_choices
from hwnas.data import devices
from hwnas.core.errors import unknown_choice
from hwnas.data.cache import atomic_write_json, writable_folder
from hwnas.analysis.monotonicity import spearman_matrix

CONFIG_NAME = "monotonicity"


def _tables() -> dict[str, tuple[str, list[str], str]]:
    """name -> (space, device columns, description): the data sets the space plug-ins declare."""
    out: dict[str, tuple[str, list[str], str]] = {}
    for space in group_choices("space"):
        for name, table in devices.tables(space).items():
            entry = out.setdefault(table.table.name, (space, [], table.table.description))
            entry[1].append(name)
    return out


def kind_order(space: str, names: list[str]) -> list[str]:
    """Devices grouped by kind (kinds in first-seen catalogue order), by name within a kind."""
    catalogue = devices.devices(space)
    kinds = list(dict.fromkeys(catalogue[n].kind for n in names))
    return sorted(names, key=lambda n: (kinds.index(catalogue[n].kind), n))


def device_matrix(table: str, min_pairs: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's Spearman matrix and common-architecture counts, devices grouped by kind."""
    tables = _tables()
    if table not in tables:
        raise unknown_choice("monotonicity table", table, tables)
    space, names, _ = tables[table]
    names = kind_order(space, names)
    latency = np.stack([devices.latency_ms(space, n) for n in names], axis=1)
    latency = latency[np.isfinite(latency).any(axis=1)]
    rho, counts = spearman_matrix(latency, min_pairs=min_pairs)
    return pd.DataFrame(rho, index=names, columns=names), pd.DataFrame(counts, index=names, columns=names)


def plot_heatmap(matrix: pd.DataFrame, space: str, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(matrix.index)
    catalogue = devices.devices(space)
    kinds = [catalogue[n].kind for n in names]
    size = 3.0 + 0.32 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(matrix.to_numpy(), cmap="viridis", vmin=min(0.0, float(matrix.min().min())), vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    starts = [i for i in range(len(kinds)) if i == 0 or kinds[i] != kinds[i - 1]]
    for i in starts[1:]:
        ax.axhline(i - 0.5, color="white", lw=1.5)
        ax.axvline(i - 0.5, color="white", lw=1.5)
    for i, end in zip(starts, starts[1:] + [len(kinds)]):
        ax.text(len(names) - 0.3, (i + end - 1) / 2, kinds[i], va="center", ha="left", fontsize=8)
    if len(names) <= 30:
        for (r, c), value in np.ndenumerate(matrix.to_numpy()):
            label = f"{value:.2f}"
            ax.text(c, r, label[1:] if label.startswith("0.") else label, ha="center",
                    va="center", fontsize=4.5, color="white" if value < 0.8 else "black")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.14, label="Spearman rank correlation")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def summarise(matrix: pd.DataFrame, proxy: str) -> str:
    values = matrix.to_numpy()
    off = values[~np.eye(len(values), dtype=bool)]
    lines = [f"  {len(values)} devices; Spearman over device pairs: mean {off.mean():.3f}, "
             f"min {off.min():.3f}, share of pairs >= 0.9: {(off >= 0.9).mean():.0%}"]
    proxy = next((n for n in (proxy, f"rice_{proxy}") if n in matrix.index), None)  # HW-NAS-Bench names
    if proxy is not None:
        row = matrix.loc[proxy].drop(proxy)
        lines.append(f"  proxy {proxy}: mean {row.mean():.3f} to the other devices; weakest "
                     + ", ".join(f"{n} {v:.3f}" for n, v in row.nsmallest(3).items()))
    return "\n".join(lines)


def run(cfg, run_dir: Path) -> dict[str, pd.DataFrame]:
    started = time.perf_counter()
    tables = _tables()
    chosen = [str(t) for t in cfg.tables] if cfg.tables is not None else list(tables)
    for table in chosen:  # refuse an unknown table before any work
        if table not in tables:
            raise unknown_choice("monotonicity table", table, tables)
    out_dir = writable_folder(Path(str(cfg.out_dir)) if cfg.out_dir else Path(run_dir), "folder of out_dir=")
    results, files = {}, {}
    for table in chosen:
        matrix, counts = device_matrix(str(table), int(cfg.min_pairs))
        space, _, description = tables[str(table)]
        csv_path, png_path = out_dir / f"{table}_spearman.csv", out_dir / f"{table}_spearman.png"
        matrix.round(4).to_csv(csv_path, index_label="device")
        plot_heatmap(matrix, space, f"Latency monotonicity: {description}\n(Spearman; devices grouped by kind)",
                     png_path)
        n_common = int(counts.to_numpy().min())
        print(f"{table}: {description} (>= {n_common:,} common architectures per pair)")
        print(summarise(matrix, str(cfg.proxy)))
        print(f"  wrote {csv_path} and {png_path}")
        results[str(table)] = matrix
        files[str(table)] = {"csv": str(csv_path), "png": str(png_path), "devices": len(matrix)}
    summary = {"tables": files, "out_dir": str(out_dir), "command_seconds": time.perf_counter() - started}
    atomic_write_json(writable_folder(Path(run_dir), "run folder") / "summary.json", summary, indent=1)
    return results
