"""Approximate search with FAISS HNSW, for catalogues where exact search becomes slow.

FAISS parallelises one query over OpenMP threads, which makes a single online query several times
slower on a small shared machine; so `threads` defaults to 1 and is applied per call (batch
scoring offline may pass more).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import numpy as np

from shoprec.index.base import as_queries


class HnswIndex:
    kind = "hnsw"

    def __init__(self, vectors: np.ndarray | None = None, m: int = 32, ef_construction: int = 80,
                 ef_search: int = 96, threads: int = 1, dim: int | None = None) -> None:
        import faiss

        self.m, self.ef_construction, self.ef_search, self.threads = m, ef_construction, ef_search, threads
        dim = dim if vectors is None else np.asarray(vectors).shape[1]
        if dim is None:
            raise ValueError("HnswIndex needs vectors or dim")
        self.index = faiss.IndexHNSWFlat(int(dim), m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = ef_construction
        if vectors is not None and len(vectors):
            self.add(vectors)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def add(self, vectors: np.ndarray) -> np.ndarray:
        new = as_queries(vectors, self.dim)
        start = len(self)
        with _omp_threads(self.threads if len(new) < 1000 else max(self.threads, 2)):
            self.index.add(new)
        return np.arange(start, len(self))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        q = as_queries(queries, self.dim)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if len(allowed) != len(self):
                raise ValueError(f"filter mask has {len(allowed)} entries, the index {len(self)} rows")
            selector = faiss.IDSelectorBatch(np.flatnonzero(allowed).astype(np.int64))
            params.sel = selector
        with _omp_threads(self.threads):
            scores, idx = self.index.search(q, k, params=params)
        scores = np.where(idx >= 0, scores, -np.inf).astype(np.float32)
        return idx.astype(np.int64), scores

    def save(self, path: Path) -> None:
        import faiss

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(path / "hnsw.faiss"))
        (path / "index.json").write_text(json.dumps({
            "kind": self.kind, "size": len(self), "m": self.m,
            "ef_construction": self.ef_construction, "ef_search": self.ef_search}))

    @classmethod
    def load(cls, path: Path) -> Self:
        import faiss

        meta = json.loads((Path(path) / "index.json").read_text())
        index = cls(dim=1, m=meta["m"], ef_construction=meta["ef_construction"],
                    ef_search=meta["ef_search"])
        index.index = faiss.read_index(str(Path(path) / "hnsw.faiss"))
        return index


class _omp_threads:
    """Set FAISS's OpenMP threads inside the block, restore after."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        import faiss

        self.previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        import faiss

        faiss.omp_set_num_threads(self.previous)
