"""Differentially private counts: per-shopper contribution bounding, then Laplace noise.

The neighbouring data sets differ by one whole shopper (add or remove all their events). Each
shopper's contribution is first clipped so that the published counts change by at most a known
amount (the L1 sensitivity) when one shopper is added or removed:

- item counts ("popular items"): each shopper counts at most `max_items` distinct items, +1
  each, so the sensitivity is `max_items`;
- co-occurrence counts ("shoppers who bought a later bought b"): each shopper contributes at most
  `max_pairs` distinct ordered pairs (a before b, at most `window` positions apart), +1 each,
  so the sensitivity is `max_pairs`.

Laplace noise of scale sensitivity / epsilon on *every* cell (zeros included, or the sparsity
pattern would leak who bought what) then makes the release epsilon-DP. Anything computed only
from the noisy release (keeping each row's top entries, ranking) is post-processing and stays
epsilon-DP. Which events to keep when clipping depends only on that shopper's own data (the most
recent ones), which keeps the sensitivity bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import History


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    if epsilon <= 0 or not np.isfinite(epsilon):
        raise ValueError(f"epsilon must be a positive finite number, got {epsilon}")
    if sensitivity <= 0:
        raise ValueError(f"sensitivity must be positive, got {sensitivity}")
    return sensitivity / epsilon


def bounded_items(history: History, max_items: int) -> np.ndarray:
    """At most `max_items` distinct items of one history, the most recent ones."""
    items = np.asarray(history.items, dtype=np.int64)[::-1]
    _, first = np.unique(items, return_index=True)
    return items[np.sort(first)][:max_items]


def bounded_pairs(history: History, max_pairs: int, window: int) -> np.ndarray:
    """At most `max_pairs` distinct ordered pairs (earlier, later) of different items no more
    than `window` positions apart, most recent first; shape (p, 2)."""
    items = np.asarray(history.items, dtype=np.int64)
    pairs: dict[tuple[int, int], None] = {}
    for later in range(len(items) - 1, 0, -1):
        for earlier in range(later - 1, max(later - window, 0) - 1, -1):
            a, b = int(items[earlier]), int(items[later])
            if a != b:
                pairs.setdefault((a, b))
                if len(pairs) == max_pairs:
                    return np.asarray(list(pairs), dtype=np.int64)
    return np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)


def item_counts(histories: Sequence[History], n_items: int, max_items: int) -> np.ndarray:
    """Clipped counts: how many shoppers have each item among their kept items."""
    kept = [bounded_items(h, max_items) for h in histories]
    flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return np.bincount(flat, minlength=n_items).astype(np.float64)


def noisy_item_counts(histories: Sequence[History], n_items: int, epsilon: float | None,
                      max_items: int = 10, seed: int = 0) -> np.ndarray:
    """epsilon-DP item counts (epsilon=None: clipped but exact, for measuring the noise's cost)."""
    counts = item_counts(histories, n_items, max_items)
    if epsilon is None:
        return counts
    rng = np.random.default_rng(seed)
    return counts + rng.laplace(0.0, laplace_scale(max_items, epsilon), n_items)


def pair_counts(histories: Sequence[History], n_items: int, max_pairs: int,
                window: int) -> sp.csr_matrix:
    """Clipped co-occurrence counts: cell (a, b) = shoppers with the kept pair a -> b."""
    pairs = [bounded_pairs(h, max_pairs, window) for h in histories]
    flat = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(flat), np.float32), (flat[:, 0], flat[:, 1])),
                      shape=(n_items, n_items))
    m.sum_duplicates()
    return m


def noisy_cooccurrence(histories: Sequence[History], n_items: int, epsilon: float | None,
                       max_pairs: int = 10, window: int = 3, top_per_item: int = 100,
                       seed: int = 0, block: int = 512,
                       domain: np.ndarray | None = None) -> sp.csr_matrix:
    """epsilon-DP co-occurrence counts, each row cut to its `top_per_item` largest noisy entries.

    Noise is drawn for every cell of the dense n_items x n_items matrix, a block of rows at a
    time (memory: block x n_items floats), then each row keeps its top entries (post-processing).
    The diagonal is never a pair for anyone, so it is a public zero and is left out.
    `domain` (item indices, public, e.g. chosen from a DP popularity release) restricts the
    release to pairs of those items: far fewer noisy cells, so much less noise reaches the top.
    """
    if domain is not None:
        local = np.full(n_items, -1, dtype=np.int64)
        local[domain] = np.arange(len(domain))
        kept = []
        for h in histories:
            mapped = local[np.asarray(h.items, dtype=np.int64)]
            kept.append(History(mapped[mapped >= 0]))
        sub = sp.coo_matrix(noisy_cooccurrence(kept, len(domain), epsilon, max_pairs, window,
                                               top_per_item, seed, block))
        return sp.csr_matrix((sub.data, (domain[sub.row], domain[sub.col])),
                             shape=(n_items, n_items))
    counts = pair_counts(histories, n_items, max_pairs, window)
    if epsilon is None:
        return top_per_row(counts, top_per_item)
    scale = laplace_scale(max_pairs, epsilon)
    rng = np.random.default_rng(seed)
    keep = min(top_per_item, n_items - 1)
    rows, cols, vals = [], [], []
    for lo in range(0, n_items, block):
        hi = min(lo + block, n_items)
        dense = counts[lo:hi].toarray().astype(np.float32)
        dense += rng.laplace(0.0, scale, dense.shape).astype(np.float32)
        dense[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        top = np.argpartition(-dense, keep - 1, axis=1)[:, :keep]
        top_vals = np.take_along_axis(dense, top, axis=1)
        ok = np.isfinite(top_vals)
        r = np.repeat(np.arange(lo, hi), keep).reshape(hi - lo, keep)
        rows.append(r[ok])
        cols.append(top[ok])
        vals.append(top_vals[ok])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_items, n_items))


def top_per_row(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row of a sparse matrix cut to its `keep` largest stored entries."""
    m = sp.csr_matrix(matrix)
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        data, idx = m.data[lo:hi], m.indices[lo:hi]
        if len(data) > keep:
            best = np.argpartition(-data, keep - 1)[:keep]
            data, idx = data[best], idx[best]
        rows.append(np.full(len(data), r))
        cols.append(idx)
        vals.append(data)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=m.shape)
