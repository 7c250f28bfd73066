"""One pre-trained NASFLAT network (Akhauri & Abdelfattah, MLSys 2024) transferred to the target device: its
starting embedding, its fine-tuning on the target samples and its read-out to log milliseconds.

`nasflat.NasflatOracle` averages the log ms of one member per pre-training seed (`ensemble`).
"""

from __future__ import annotations

import copy
import functools
from typing import Callable

import numpy as np

from hwnas.predictors.nasflat_jobs import TransferJob
from hwnas.predictors.nasflat_model import GraphBatch, NasflatNet
from hwnas.predictors.nasflat_train import (TransferConfig, fold_split, log_linear_fit, out_of_fold_scores, ridge_fit,
                                            scores, start_target_row)


class TransferredNet:
    """A pre-trained network (`entry`: its cache entry) and, after `adapt`, its transfer to the target.

    `supplement(graphs, matrix)` gives the read-out's zero-cost inputs; `choose_sources(rows, latency_ms)` the
    source rows the target's embedding starts from; `source_log_ms` every source's measured log ms (table rows x
    sources). All three are the oracle's, the same for every member."""

    def __init__(self, net: NasflatNet, entry: dict, space, sources: tuple[str, ...], transfer_cfg: TransferConfig,
                 readout: str, source_input: bool, supplement: Callable, choose_sources: Callable,
                 table_graphs: GraphBatch, source_log_ms: np.ndarray, readout_bags: int = 0):
        self.net, self.entry, self.space, self.sources = net, entry, space, sources
        self.source_log_ms = source_log_ms
        self.table_graphs, self.table_matrix = table_graphs, np.asarray(space.table_archs())
        self.transfer_cfg, self.readout, self.source_input = transfer_cfg, readout, source_input
        self.readout_bags = readout_bags
        self._supplement, self._choose_sources = supplement, choose_sources
        self.row = len(sources)          # the target's hardware embedding row
        self.readout_inputs = None

    def transfer_jobs(self, graphs: GraphBatch, rows: np.ndarray, latency_ms: np.ndarray, init) -> list[TransferJob]:
        """The transfers `adapt` needs (`nasflat_jobs.run_transfers` runs them): on every sample, then, for the stacked
        and blend read-outs, one per fold without the fold's samples (`out_of_fold_scores`)."""
        jobs = [TransferJob(self.net, graphs, latency_ms, init, self.transfer_cfg)]
        if self.readout in ("stacked", "blend"):
            fold_init = self._fold_sources(rows, latency_ms)
            jobs += [TransferJob(self.net, graphs.take(keep), latency_ms[keep], fold_init(keep), self.transfer_cfg)
                     for keep, _ in fold_split(len(latency_ms), self.transfer_cfg.seed)]
        return jobs

    def _fold_sources(self, rows: np.ndarray, latency_ms: np.ndarray) -> Callable:
        """The starting sources of a fold's transfer, chosen on its kept samples: chosen on all samples they would rank
        the held-out ones too well."""
        return lambda keep: self._choose_sources(rows[keep], latency_ms[keep])[0]

    def adapt(self, graphs: GraphBatch, matrix: np.ndarray, rows: np.ndarray, latency_ms: np.ndarray, init,
              source_ranks: bool, mix=None, *, tuned: list[NasflatNet]) -> np.ndarray:
        """Transfer to the samples (`rows`: their table rows, -1 outside; `init`: the starting source rows, best
        first; `source_ranks`: the best one ranks the samples positively) and fit the read-out; returns the log ms
        of every table row. `mix`: (the samples' out-of-fold source mix, the mix), a read-out input
        (`nasflat_train.source_mix`), or None. `tuned`: the networks `transfer_jobs` gave, run."""
        self._mix = mix
        self._start = copy.deepcopy(self.net)       # the pre-trained network on the target's initial embedding
        start_target_row(self._start, init)
        start_table = (self.entry["source_scores"][init[0]].astype(np.float64)
                       if init is not None and len(init) == 1 else scores(self._start, self.table_graphs, self.row))
        self._source_row = init[0] if self.source_input and source_ranks else None
        self._adapted = tuned[0]
        a, b = log_linear_fit(scores(self._adapted, graphs, self.row), latency_ms)
        self._paper_fit = lambda x: a * x[:, 1] + b           # the paper's: the fine-tuned score alone
        self._held_out = (graphs, latency_ms, init)
        if self.readout in ("stacked", "blend"):
            start, honest = out_of_fold_scores(self.net, graphs, latency_ms, self._fold_sources(rows, latency_ms),
                                               self.transfer_cfg, tuned=tuned[1:])
            features = np.column_stack([start, honest, self._supplement(graphs, matrix), self._source(graphs, matrix),
                                        np.zeros((len(matrix), 0)) if mix is None else mix[0]])
            self.readout_inputs = (features, np.log(latency_ms))   # kept for diagnosis (experiments/)
            self._fit = self._with_paper(self._ridge(features, np.log(latency_ms)))
        else:
            self._fit = self._paper_fit
        self.table_features = self.features(self.table_graphs, self.table_matrix, start_table)
        return self._fit(self.table_features)

    def _ridge(self, features: np.ndarray, log_ms: np.ndarray, bags: int | None = None) -> Callable:
        """The stacked read-out's fit (`ridge_fit`), bagged over `bags` (None: `readout_bags`) bootstrap draws seeded
        by the transfer."""
        bags = self.readout_bags if bags is None else bags
        return ridge_fit(features, log_ms, bags=bags, seed=self.transfer_cfg.seed)

    def _with_paper(self, stacked: Callable) -> Callable:
        """`blend`: the mean log ms of the stacked read-out and the paper's (hwnas; docs/nasflat_studies.md "A blend read-out"); else as is."""
        if self.readout != "blend":
            return stacked
        return lambda x: 0.5 * (stacked(x) + self._paper_fit(x))

    def features(self, graphs, matrix, start: np.ndarray | None = None) -> np.ndarray:
        """Read-out inputs: the pre-trained score on the initial target embedding, the fine-tuned score, the
        supplementary encoding, and where on the chosen source and the source mix (hwnas's stacking; the paper uses
        the fine-tuned score alone)."""
        start = scores(self._start, graphs, self.row) if start is None else start
        return np.column_stack([start, scores(self._adapted, graphs, self.row), self._supplement(graphs, matrix),
                                self._source(graphs, matrix, start), self._mixed(graphs, matrix)])

    @functools.cached_property
    def _score_to_log_ms(self) -> list[np.ndarray]:
        """Per source, (slope, intercept) of its measured log ms on this network's pre-trained score for it, least
        squares over its table: a source's log ms estimated where it has no measurement (off the table)."""
        return [np.polyfit(self.entry["source_scores"][s].astype(np.float64), self.source_log_ms[:, s], 1)
                for s in range(len(self.sources))]

    def _source(self, graphs, matrix, start: np.ndarray | None = None) -> np.ndarray:
        """`source_input`: the chosen source's measured log ms (its pre-trained estimate off its table) as a
        read-out input, when that source ranks the samples positively; else no column."""
        if self._source_row is None:
            return np.zeros((len(matrix), 0))
        start = scores(self._start, graphs, self.row) if start is None else start
        out = np.polyval(self._score_to_log_ms[self._source_row], start)
        rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
        out[rows >= 0] = self.source_log_ms[rows[rows >= 0], self._source_row]
        return out[:, None]

    def _mixed(self, graphs, matrix) -> np.ndarray:
        """The source mix of each architecture: over the sources' measured log ms, or, off the table, over their
        estimates from the pre-trained scores on each source's embedding (least squares over its table)."""
        if self._mix is None:
            return np.zeros((len(matrix), 0))
        rows = np.asarray(self.space.table_index(matrix), dtype=np.int64)
        source_log_ms = self.source_log_ms[np.maximum(rows, 0)]
        off = np.flatnonzero(rows < 0)
        if off.size:
            for s in range(len(self.sources)):
                source_log_ms[off, s] = np.polyval(self._score_to_log_ms[s], scores(self.net, graphs.take(off), s))
        return self._mix[1](source_log_ms)[:, None]

    def forward_log_ms(self, graphs, matrix) -> np.ndarray:
        return self._fit(self.features(graphs, matrix))

    def paper_log_ms(self) -> np.ndarray:
        """Every table row's log ms from the fine-tuned score alone (the paper's read-out)."""
        return self._paper_fit(self.table_features)

    def refit_log_ms(self, mix: bool = True, bags: int | None = None) -> np.ndarray:
        """Every table row's log ms from this transfer's read-out refitted without the source mix (`mix` false; its
        last input) and/or with another number of `bags`, for comparison on the same transfer; the paper's read-out
        has neither and is returned as is."""
        if self.readout_inputs is None:
            return self._fit(self.table_features)
        (features, log_ms), table = self.readout_inputs, self.table_features
        if not mix and self._mix is not None:
            features, table = features[:, :-1], table[:, :-1]
        return self._with_paper(self._ridge(features, log_ms, bags))(table)

    def held_out_log_ms(self) -> np.ndarray:
        """Each sample's log ms from a read-out that never saw it: leave-one-out ridge on the out-of-fold inputs
        (stacked), a log-linear fit on fine-tuned scores from networks that never saw it (k folds; finetune), or
        their mean (blend)."""
        graphs, latency_ms, init = self._held_out
        log_ms = np.log(latency_ms)
        drop = [np.arange(len(log_ms)) != i for i in range(len(log_ms))]
        parts = []
        if self.readout != "finetune":
            features = self.readout_inputs[0]
            parts.append(np.array([self._ridge(features[keep], log_ms[keep])(features[~keep])[0] for keep in drop]))
        if self.readout != "stacked":
            honest = (features[:, 1] if self.readout == "blend"
                      else out_of_fold_scores(self.net, graphs, latency_ms, init, self.transfer_cfg)[1])
            parts.append(np.array([np.polyval(log_linear_fit(honest[keep], latency_ms[keep]), honest[i])
                                   for i, keep in enumerate(drop)]))
        return np.mean(parts, axis=0)
