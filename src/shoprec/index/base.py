"""The index interface and the choice between exact and approximate search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

#: Below this many vectors exact search is both fast enough and exact (12k items: ~1 ms a query).
HNSW_THRESHOLD = 50_000


@runtime_checkable
class VectorIndex(Protocol):
    kind: str

    def __len__(self) -> int: ...

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append rows; returns their new indices."""
        ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores), each (n_queries, k), best first; -1 / -inf where fewer than k
        rows qualify. `allowed` is a boolean mask over rows (a business filter)."""
        ...

    def save(self, path: Path) -> None: ...


def as_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    """Queries as a C-contiguous float32 (n, dim) array; one clear error on a size mismatch."""
    q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
    if q.shape[1] != dim:
        raise ValueError(f"query vectors have {q.shape[1]} dimensions, the index has {dim}")
    return q


def build_index(vectors: np.ndarray, threshold: int = HNSW_THRESHOLD,
                threads: int = 1) -> VectorIndex:
    """ExactIndex below `threshold` rows, HnswIndex from there on."""
    from shoprec.index.exact import ExactIndex
    from shoprec.index.hnsw import HnswIndex

    if len(vectors) < threshold:
        return ExactIndex(vectors)
    return HnswIndex(vectors, threads=threads)


def load_index(path: Path) -> VectorIndex:
    from shoprec.index.exact import ExactIndex
    from shoprec.index.hnsw import HnswIndex

    kind = json.loads((Path(path) / "index.json").read_text())["kind"]
    return {"exact": ExactIndex, "hnsw": HnswIndex}[kind].load(path)
