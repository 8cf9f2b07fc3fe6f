"""Top-k for many shoppers at once (precomputing everyone's recommendations), in bounded memory.

Two paths, chosen by the model's capabilities (`shoprec.models.base`):
- sparse (`SparseItemScores`: item-kNN): a shopper's scores are their history row times the sparse similarity
  matrix, so only items reachable from the history get a score; the top-k is taken from those
  entries without ever forming a dense (shoppers x items) array. Cost grows with the shoppers'
  history lengths times the neighbours kept, not with the catalogue.
- dense (every other model): `score` in batches of rows sized so one batch holds at most
  `DENSE_BATCH_SCORES` scores, then `ranking.top_k`. This costs shoppers x items, so it refuses
  above `MAX_DENSE_SCORES` and names what to use instead.

Both exclude each shopper's history and pad short rows with index -1 and score -inf, like
`ranking.top_k`, and both give the same items in the same order as `top_k(model.score(...))` where
the sparse path's shoppers have at least k reachable items (ties: lower item index first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import History, history_matrix
from shoprec.models.base import CountsItems, SparseItemScores
from shoprec.models.ranking import top_k

#: scores in one dense batch (64M float32 = 256 MB)
DENSE_BATCH_SCORES = 1 << 26
#: largest shoppers x items the dense path takes on (about an hour of scoring on 2 cores)
MAX_DENSE_SCORES = 2 * 10**11
#: shoppers per sparse batch
SPARSE_BATCH = 20_000


def top_k_all(model: object, histories: Sequence[History], k: int,
              batch_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores), each (len(histories), k), best first, seen items excluded."""
    if isinstance(model, SparseItemScores):
        return sparse_top_k(model.item_similarity, histories, k, batch_rows or SPARSE_BATCH)
    n_items = _n_items(model)
    if len(histories) * n_items > MAX_DENSE_SCORES:
        raise ValueError(
            f"top-k for {len(histories):,} shoppers x {n_items:,} items needs "
            f"{len(histories) * n_items:.1e} dense scores, above the limit of "
            f"{MAX_DENSE_SCORES:.0e} (MAX_DENSE_SCORES); precompute with itemknn (sparse, "
            "grows with history length, not the catalogue) or for a sample of shoppers")
    rows = batch_rows or max(1, DENSE_BATCH_SCORES // max(n_items, 1))
    idx = np.full((len(histories), k), -1, dtype=np.int64)
    val = np.full((len(histories), k), -np.inf, dtype=np.float32)
    for lo in range(0, len(histories), rows):
        batch = histories[lo:lo + rows]
        i, v = top_k(model.score(batch), k, histories=batch)  # type: ignore[attr-defined]
        idx[lo:lo + len(batch), :i.shape[1]], val[lo:lo + len(batch), :v.shape[1]] = i, v
    return idx, val


def sparse_top_k(similarity: sp.csr_matrix, histories: Sequence[History], k: int,
                 batch_rows: int = SPARSE_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of history rows times a sparse item x item matrix, without dense rows."""
    n_items = similarity.shape[0]
    idx = np.full((len(histories), k), -1, dtype=np.int64)
    val = np.full((len(histories), k), -np.inf, dtype=np.float32)
    for lo in range(0, len(histories), batch_rows):
        batch = histories[lo:lo + batch_rows]
        rows = history_matrix(batch, n_items)
        scores = sp.csr_matrix(rows @ similarity, dtype=np.float32)
        seen = rows.copy()
        seen.data[:] = 1.0
        scores = scores - scores.multiply(seen)  # drop already-consumed items
        scores.eliminate_zeros()
        i, v = csr_row_top_k(scores, k)
        idx[lo:lo + len(batch)], val[lo:lo + len(batch)] = i, v
    return idx, val


def csr_row_top_k(m: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest stored entries (ties: lower column first), padded with -1/-inf."""
    m.sum_duplicates()
    n = m.shape[0]
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(n), counts)
    # stable sorts: by value (columns ascending within a row keep ties in column order), then
    # by row (a radix sort of integers); several times faster than one lexsort on three keys
    order = np.argsort(-m.data, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    rank = np.arange(len(order)) - np.repeat(m.indptr[:-1], counts)
    keep = rank < k
    idx = np.full((n, k), -1, dtype=np.int64)
    val = np.full((n, k), -np.inf, dtype=np.float32)
    idx[rows[keep], rank[keep]] = m.indices[order][keep]
    val[rows[keep], rank[keep]] = m.data[order][keep]
    return idx, val


def _n_items(model: object) -> int:
    """How many items `model` scores now (items added from text included); a model that does
    not say (`CountsItems`: the blend, user-kNN, popularity) is asked with an empty history."""
    if isinstance(model, CountsItems):
        return model.n_items
    probe = model.score([History(np.zeros(0, dtype=np.int64))])  # type: ignore[attr-defined]
    return int(probe.shape[1])
