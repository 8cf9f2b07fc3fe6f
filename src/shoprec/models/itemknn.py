"""Item-based collaborative filtering: item-item cosine with shrinkage, top-N neighbours per item.

    sim(i, j) = <r_i, r_j> / (|r_i| |r_j| + shrink)

over the items' columns of the training value matrix; shrinkage pulls similarities that rest on
few common shoppers towards zero. A shopper's scores are their history row times the similarity
matrix, so any history (also one never seen in training) is scored by one sparse product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import EvalSet, History, TrainData, history_matrix
from shoprec.models.base import ExactTerms, Model, ModelConfig, distinct_items, last_values
from shoprec.models.files import State
from shoprec.models.sparse_ops import history_row, row_times_csr, top_n_per_row

#: upper bound on the co-occurrence entries one block of item rows may produce
BLOCK_PRODUCTS = 1 << 25


def _row_blocks(by_item: sp.csr_matrix, budget: int) -> list[tuple[int, int]]:
    """Contiguous item-row ranges whose product with all items has at most about `budget`
    entries (bounded by the summed history lengths of each item's shoppers)."""
    user_len = np.diff(by_item.T.tocsr().indptr).astype(np.float64)
    bound = np.cumsum(by_item.astype(bool).astype(np.float64) @ user_len)
    cuts, lo = [], 0
    while lo < by_item.shape[0]:
        base = bound[lo - 1] if lo else 0.0
        hi = int(np.searchsorted(bound, base + budget, side="right"))
        hi = min(max(hi, lo + 1), by_item.shape[0])
        cuts.append((lo, hi))
        lo = hi
    return cuts


@dataclass(frozen=True)
class ItemKNNConfig(ModelConfig):
    """`neighbours` kept per item; `shrink` pulls similarities resting on few shoppers to 0."""

    neighbours: int = 300
    shrink: float = 50.0

    def __post_init__(self) -> None:
        if self.neighbours < 1 or self.shrink < 0:
            raise ValueError(f"itemknn needs neighbours >= 1 and shrink >= 0, got "
                             f"neighbours={self.neighbours}, shrink={self.shrink}")


class ItemKNN(Model):
    name = "itemknn"
    Config = ItemKNNConfig
    config: ItemKNNConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        """Similarities in blocks of item rows, each pruned to its top-N before the next is
        computed: the full co-occurrence matrix (about sum of squared history lengths entries,
        hundreds of millions at a million items) is never held at once. Rows are independent,
        so the result equals the one-block computation."""
        by_item = sp.csr_matrix(data.value_matrix.T, dtype=np.float32)
        norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel()).astype(np.float32)
        blocks = []
        for lo, hi in _row_blocks(by_item, BLOCK_PRODUCTS):
            sims = sp.coo_matrix(by_item[lo:hi] @ by_item.T)
            sims.data /= norms[sims.row + lo] * norms[sims.col] + self.config.shrink + 1e-12
            sims.data[sims.row + lo == sims.col] = 0.0  # an item is not its own neighbour
            blocks.append(top_n_per_row(sims.tocsr(), self.config.neighbours))
        self.similarity_ = sp.csr_matrix(sp.vstack(blocks, format="csr") if blocks else
                                         sp.csr_matrix(by_item.shape[0:1] * 2, dtype=np.float32),
                                         dtype=np.float32)
        return self

    def forget_users(self, remaining: TrainData, removed_rows: Sequence[int],
                     removed_items: np.ndarray) -> Self:
        """Deletion, exactly as a refit on `remaining` but touching only what can change.

        Only co-occurrences among `removed_items` (H) and those items' norms change. Similarity
        is symmetric, so the columns H of the new matrix give the rows H whole; any other row j
        changes only in its columns H, whose values can only grow (same co-occurrence, smaller
        norm), so its new top-N is the top-N of its kept entries outside H plus its new values
        in H: nothing it pruned before can come back.
        """
        h = np.unique(np.asarray(removed_items, dtype=np.int64))
        if not len(h):
            return self
        n = self.similarity_.shape[0]
        by_item = sp.csr_matrix(remaining.value_matrix.T, dtype=np.float32)
        norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel()).astype(np.float32)
        cols_h = sp.coo_matrix(by_item @ by_item[h].T)  # (items, |H|): co-occurrence with H
        cols_h.data /= norms[cols_h.row] * norms[h[cols_h.col]] + self.config.shrink + 1e-12
        cols_h.data[cols_h.row == h[cols_h.col]] = 0.0
        new_h = sp.csr_matrix((cols_h.data, (cols_h.row, h[cols_h.col])), shape=(n, n))
        in_h = np.zeros(n, dtype=np.float32)
        in_h[h] = 1.0
        outside_h = sp.diags(1.0 - in_h)
        candidates = sp.csr_matrix(outside_h @ (self.similarity_ @ outside_h + new_h)
                                   + new_h.T.tocsr(), dtype=np.float32)
        candidates.eliminate_zeros()
        over = np.flatnonzero(np.diff(candidates.indptr) > self.config.neighbours)  # only these prune
        keep = np.ones(n, dtype=np.float32)
        keep[over] = 0.0
        scatter = sp.csr_matrix((np.ones(len(over), np.float32), (over, np.arange(len(over)))),
                                shape=(n, len(over)))
        pruned = top_n_per_row(candidates[over], self.config.neighbours)
        self.similarity_ = sp.csr_matrix(sp.diags(keep) @ candidates + scatter @ pruned,
                                         dtype=np.float32)
        return self

    @property
    def n_items(self) -> int:
        """Items scored (`CountsItems`)."""
        return int(self.similarity_.shape[0])

    @property
    def item_similarity(self) -> sp.csr_matrix:
        """The item x item matrix a history row is multiplied by (`SparseItemScores`)."""
        return self.similarity_

    def score(self, histories: Sequence[History]) -> np.ndarray:
        if len(histories) == 1 and self.similarity_.has_canonical_format:  # online: one shopper
            cols, vals = history_row(histories[0], self.similarity_.shape[0])
            return row_times_csr(cols, vals, self.similarity_)[None]
        rows = history_matrix(histories, self.similarity_.shape[0])
        return (rows @ self.similarity_).toarray().astype(np.float32)

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms:
        """score(i) = sum over history items h of value(h) * sim(h, i): the terms are those."""
        items = distinct_items(history)
        terms = np.asarray(self.similarity_[items][:, targets].todense(), dtype=np.float64).T
        return ExactTerms(items, terms * last_values(history, items)[None, :],
                          np.zeros(len(targets)))

    def _state(self) -> State:
        return {"similarity": self.similarity_}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.similarity_ = sp.csr_matrix(state["similarity"], dtype=np.float32)
