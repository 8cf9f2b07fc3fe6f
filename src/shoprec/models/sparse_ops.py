"""Sparse building blocks shared by the neighbourhood models (userknn, itemknn) and MF fold-in.

Models score `History` objects they may never have seen, so the query rows are built here from
the histories themselves, with the same meaning as `TrainData.value_matrix`: the last value a
shopper gave an item, or 1 per interacted item when histories carry no values.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shoprec.data.types import History


def history_row(history: History, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """One history as (distinct items ascending, each one's last value as float32): the row
    `history_matrix` would build, for online scoring of one shopper without a sparse matrix
    (building the 1-row CSR costs ~200 us, more than the product it feeds)."""
    items = np.asarray(history.items, dtype=np.int64)
    if len(items) and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][0]
        raise ValueError(f"history holds item index {bad}, outside the model's 0..{n_items - 1}")
    cols, first = np.unique(items[::-1], return_index=True)  # first in reverse = last occurrence
    if history.values is None:
        return cols, np.ones(len(cols), dtype=np.float32)
    return cols, np.asarray(history.values, dtype=np.float32)[::-1][first]


def row_times_csr(cols: np.ndarray, vals: np.ndarray, matrix: sp.csr_matrix) -> np.ndarray:
    """Dense (n,) float32 of the sparse row (cols, vals) times canonical CSR `matrix`.

    Summed in float32 in the order scipy's sparse product sums (the row's items ascending, each
    matrix row in stored order), so the scores equal `history_matrix(...) @ matrix` bit for bit.
    """
    out = np.zeros(matrix.shape[1], dtype=np.float32)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for c, v in zip(cols.tolist(), vals.tolist()):
        lo, hi = indptr[c], indptr[c + 1]
        out[indices[lo:hi]] += np.float32(v) * data[lo:hi]
    return out


def row_times_dense(cols: np.ndarray, vals: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Dense (n,) float32 of the sparse row (cols, vals) times dense `matrix`, summed in the order
    scipy's sparse-times-dense product sums (bit-identical to it), reading only the rows used."""
    out = np.zeros(matrix.shape[1], dtype=np.float32)
    for c, v in zip(cols.tolist(), vals.tolist()):
        out += np.float32(v) * matrix[c]
    return out


def normalize_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (all-zero rows stay zero), so dot products are cosines."""
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(inv.astype(np.float32)) @ m)


def top_n_per_row(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """CSR keeping the n largest positive entries of each row (ties: lower column first)."""
    m = sp.csr_matrix(m, dtype=np.float32)
    m.sum_duplicates()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keep = m.data > 0
    rows, cols, vals = rows[keep], m.indices[keep], m.data[keep]
    order = np.lexsort((cols, -vals, rows))  # by row, then value descending
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(m.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    top = rank < n
    return sp.csr_matrix((vals[top], (rows[top], cols[top])), shape=m.shape, dtype=np.float32)
