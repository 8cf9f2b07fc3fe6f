"""The choice between exact and approximate search, when an index is built and when one is read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from shoprec.index.base import VectorIndex
from shoprec.index.exact import ExactIndex
from shoprec.index.hnsw import HnswIndex

#: Below this many vectors exact search is both fast enough and exact (12k items: ~1 ms a query).
HNSW_THRESHOLD = 50_000


def build_index(vectors: np.ndarray, threshold: int = HNSW_THRESHOLD,
                threads: int = 1) -> VectorIndex:
    """ExactIndex below `threshold` rows, HnswIndex from there on."""
    if len(vectors) < threshold:
        return ExactIndex(vectors)
    return HnswIndex(vectors, threads=threads)


def load_index(path: Path) -> VectorIndex:
    kind = json.loads((Path(path) / "index.json").read_text())["kind"]
    return {"exact": ExactIndex, "hnsw": HnswIndex}[kind].load(path)
