"""Nearest-neighbour search over unit item vectors (inner product = cosine).

`build_index` picks exact NumPy search for small catalogues and FAISS HNSW above a size threshold;
both answer `search(queries, k, allowed=None)` with the same (indices, scores) arrays and grow with
`add`, so a new item is findable the moment its vector exists.
"""

from shoprec.index.base import VectorIndex
from shoprec.index.choice import build_index, load_index
from shoprec.index.exact import ExactIndex
from shoprec.index.hnsw import HnswIndex

__all__ = ["ExactIndex", "HnswIndex", "VectorIndex", "build_index", "load_index"]
