"""The index interface every search structure keeps, and the query shape they all accept."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


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
