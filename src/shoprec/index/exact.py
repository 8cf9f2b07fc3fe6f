"""Exact inner-product search with NumPy: the default, and the reference ANN is measured against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import numpy as np

from shoprec.index.base import as_queries


class ExactIndex:
    """All item vectors in one float32 array; a query is scored against every row.

    One query is scored by NumPy's own single-threaded loop instead of BLAS: the product reads
    every vector once (memory-bound, ~1.5 ms for 12k x 384), and BLAS's worker threads, woken for
    each request while other requests run beside them on a 2-core server, turned that into 5-18 ms
    (measured under load). Batches of queries still go through BLAS, where threads pay off.
    """

    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if self.vectors.ndim != 2:
            raise ValueError(f"index vectors must be 2-D (items, dim), got shape {self.vectors.shape}")

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def add(self, vectors: np.ndarray) -> np.ndarray:
        new = as_queries(vectors, self.dim)
        start = len(self.vectors)
        self.vectors = np.concatenate([self.vectors, new])
        return np.arange(start, len(self.vectors))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        q = as_queries(queries, self.dim)
        if len(q) == 1:  # one online query: a single-threaded pass, no BLAS threads (see below)
            scores = np.einsum("ij,j->i", self.vectors, q[0])[None]
        else:
            scores = q @ self.vectors.T
        if allowed is not None:
            scores[:, ~np.asarray(allowed, dtype=bool)] = -np.inf
        k_eff = min(k, scores.shape[1])
        top = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff] if k_eff else \
            np.zeros((len(scores), 0), dtype=np.int64)
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        idx = np.take_along_axis(top, order, axis=1)
        val = np.take_along_axis(top_scores, order, axis=1)
        idx = np.where(np.isfinite(val), idx, -1)
        return _pad(idx, val, k)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "vectors.npy", self.vectors)
        (path / "index.json").write_text(json.dumps({"kind": self.kind, "size": len(self)}))

    @classmethod
    def load(cls, path: Path) -> Self:
        return cls(np.load(Path(path) / "vectors.npy"))


def _pad(idx: np.ndarray, val: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    missing = k - idx.shape[1]
    if missing > 0:
        idx = np.pad(idx, ((0, 0), (0, missing)), constant_values=-1)
        val = np.pad(val, ((0, 0), (0, missing)), constant_values=-np.inf)
    return idx.astype(np.int64), val.astype(np.float32)
