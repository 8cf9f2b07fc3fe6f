"""Top-k on top of any model's `score`: exclusion of seen/banned items and business filters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from shoprec.models.base import History


def top_k(
    scores: np.ndarray,
    k: int,
    histories: Sequence[History] | None = None,
    allowed: np.ndarray | None = None,
    excluded: Sequence[int] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of the k best items per row, best first.

    `histories`: their items are excluded (already consumed). `allowed`: boolean mask over items
    (filters such as category or price). `excluded`: item indices never shown (dismissed).
    Rows with fewer than k eligible items are padded with index -1 and score -inf.
    """
    s = np.array(scores, dtype=np.float32, copy=True)
    if s.ndim == 1:
        s = s[None, :]
    s[np.isnan(s)] = -np.inf
    if histories is not None:
        for row, h in zip(s, histories):
            row[h.items] = -np.inf
    if allowed is not None:
        s[:, ~allowed] = -np.inf
    if len(excluded):
        s[:, np.asarray(excluded, dtype=np.int64)] = -np.inf
    k = min(k, s.shape[1])
    # torch's top-k is ~10x faster than numpy's argpartition on catalogue-wide rows
    val_t, idx_t = torch.from_numpy(s).topk(k, dim=1, sorted=True)
    val, idx = val_t.numpy(), idx_t.numpy().astype(np.int64)
    idx[~np.isfinite(val)] = -1
    return idx, val
