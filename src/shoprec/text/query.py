"""One search query at a time, fast: what online search encodes with.

The catalogue is encoded in large batches by whatever encoder the bundle used (PyTorch by
default). A search request encodes one short text, where PyTorch's per-call overhead and its
thread hand-offs dominate, and a server's first query also paid for loading the model. So a
`QueryEncoder` runs the same weights through ONNX Runtime with one intra-op thread that never
spins (several requests run side by side; each stays on its own core), is warmed by a dummy query
when it is made, and keeps the vectors of recent queries (shoppers repeat popular searches).

The ONNX model is the same network as the item encoder's: in fp32 (the default) its vectors
match the PyTorch ones to about 1e-6 in cosine, so queries and cached item vectors stay in one
space; int8 is smaller but drifts (cosine ~0.99, see benchmarks/encoders.py). Encoders that are
not transformers (the NumPy multilingual USE) are used as they are.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from shoprec.text.encoders import Encoder, TorchEncoder, get_encoder
from shoprec.text.onnx_encoder import OnnxEncoder

log = logging.getLogger(__name__)

#: a query that warms the session's kernels for the short texts queries are
WARM_UP_QUERY = "gentle moisturising face cream for dry skin"


class QueryEncoder:
    """Encoder for single queries: `encode_query(text)` -> read-only unit float32 (dim,) vector.

    It also keeps the `Encoder` protocol (`encode(texts)`, `identity`, `dim`), so code that
    takes an encoder can be handed this one; a single text then goes through the query cache.
    """

    def __init__(self, encoder: Encoder, cache_size: int = 1024, warm: bool = True) -> None:
        self.encoder = encoder
        self.identity, self.dim = encoder.identity, encoder.dim
        self._cached = lru_cache(maxsize=cache_size)(self._encode_one)
        if warm:
            self.warm_up()

    def warm_up(self) -> None:
        """Run a dummy query (not cached) so the first real one costs what every other does."""
        self.encoder.encode([WARM_UP_QUERY])

    def encode_query(self, query: str) -> np.ndarray:
        """The unit vector of `query` (surrounding spaces ignored: the tokenizer drops them)."""
        return self._cached(query.strip())

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray:
        if len(texts) == 1:
            return self.encode_query(texts[0])[None].copy()
        return self.encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)

    def cache_info(self) -> tuple[int, int, int | None, int]:
        """(hits, misses, maxsize, currsize) of the recent-query cache."""
        return tuple(self._cached.cache_info())

    def _encode_one(self, query: str) -> np.ndarray:
        vector = np.ascontiguousarray(self.encoder.encode([query])[0], dtype=np.float32)
        vector.flags.writeable = False  # shared by every request that asks for this query
        return vector


def query_encoder(encoder: Encoder | None = None, precision: str = "fp32",
                  cache_size: int = 1024, warm: bool = True,
                  onnx_dir: Path | None = None) -> QueryEncoder:
    """The fast query encoder that writes vectors in `encoder`'s space (default: `get_encoder()`,
    what `item_vectors` encodes a catalogue with when nothing is named).

    A PyTorch sentence-transformer becomes its ONNX export in `precision` ("fp32" or "int8"); an
    ONNX encoder keeps its own precision; anything else is used as it is. Should the ONNX path
    fail (e.g. onnxruntime missing, a pooling ONNX cannot express), the given encoder is used and
    a warning says so: search stays correct, only slower.
    """
    encoder = encoder if encoder is not None else get_encoder()
    if isinstance(encoder, TorchEncoder | OnnxEncoder):
        precision = getattr(encoder, "precision", precision)
        try:
            fast: Encoder = single_thread_onnx(encoder.path, precision, onnx_dir)
        except Exception as exc:  # noqa: BLE001 - any failure: keep searching with the slow path
            log.warning("query encoder: ONNX path unavailable (%s); using %s", exc, encoder.identity)
            fast = encoder
    else:
        fast = encoder
    return QueryEncoder(fast, cache_size=cache_size, warm=warm)


@lru_cache(maxsize=8)
def single_thread_onnx(path: Path, precision: str = "fp32",
                       onnx_dir: Path | None = None) -> Encoder:
    """One shared ONNX session per model and precision with 1 intra-op thread (no spinning: see
    `OnnxEncoder`); exported into the cache on first use."""
    return OnnxEncoder(path, threads=1, precision=precision, cache_dir=onnx_dir)
