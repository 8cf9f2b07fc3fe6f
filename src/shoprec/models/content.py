"""Content-based recommendation from what items say, not who bought them.

A shopper's interest vector is the recency-weighted mean of the language-model vectors of the
items in their history; every item is ranked by cosine with it. Because an item needs only its
text, a brand-new item (no interactions yet) is recommendable the moment `add_items` gives it a
vector: the cold-start case collaborative models cannot serve.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import polars as pl

from shoprec.models.base import History, TrainData
from shoprec.text.encoders import MINILM_NAMES, MULTILINGUAL_NAMES, Encoder, get_encoder


class ContentModel:
    """`half_life`: how many interactions back an item's weight halves (most recent weighs 1).
    `encoder`/`backend`: which sentence encoder reads the items (see `shoprec.text.get_encoder`).
    """

    name = "content"

    def __init__(self, half_life: float = 1.0, encoder: str | None = None,
                 backend: str | None = None, threads: int | None = None,
                 cache_dir: str | None = None) -> None:
        self.half_life = half_life
        self.encoder = encoder
        self.backend = backend
        self.threads = threads
        self.cache_dir = cache_dir

    # ---- fitting and growing the catalogue ----
    def fit(self, data: TrainData) -> Self:
        if data.items.height != data.n_items or "item_id" not in data.items.columns:
            raise ValueError(
                f"{self.name}: needs the catalogue (TrainData.items with {data.n_items} rows and an "
                f"item_id column) to read item texts; got {data.items.height} rows")
        self.vectors_ = self._item_vectors(data.items)
        return self

    def _item_vectors(self, items: pl.DataFrame) -> np.ndarray:
        from shoprec.text.cache import item_vectors

        cache = Path(self.cache_dir) if self.cache_dir else None
        return item_vectors(items, self.get_encoder(), cache, show_progress=items.height > 2000)

    def get_encoder(self) -> Encoder:
        """The encoder this model reads texts with (loaded once, on first need)."""
        if getattr(self, "_encoder", None) is None:
            self._encoder = get_encoder(self.encoder, threads=self.threads, backend=self.backend)
        return self._encoder

    def add_items(self, vectors: np.ndarray) -> np.ndarray:
        """Append item vectors (e.g. of new products); returns their item indices.

        Scores widen at once: no retraining, the new items compete with the catalogue."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.vectors_.shape[1]:
            raise ValueError(f"new item vectors have {vectors.shape[1]} dimensions, "
                             f"the model's {self.vectors_.shape[1]}")
        start = len(self.vectors_)
        self.vectors_ = np.concatenate([self.vectors_, vectors])
        return np.arange(start, len(self.vectors_))

    def add_catalogue_items(self, items: pl.DataFrame) -> np.ndarray:
        """Encode new catalogue rows (same columns as the catalogue) and append them."""
        return self.add_items(self._item_vectors(items))

    @property
    def n_items(self) -> int:
        return len(self.vectors_)

    # ---- scoring ----
    def profiles(self, histories: Sequence[History]) -> np.ndarray:
        """(users, dim) unit interest vectors; all-zero for an empty history."""
        return interest_vectors(histories, self.vectors_, self.half_life)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return self.profiles(histories) @ self.vectors_.T

    # ---- files ----
    def params(self) -> dict:
        return {"half_life": self.half_life, "encoder": self.encoder, "backend": self.backend,
                "threads": self.threads, "cache_dir": self.cache_dir}

    def save(self, path: Path) -> None:
        """vectors.npy and params.json; a local encoder folder is copied in (path/encoder) so the
        bundle can still encode new items and queries where that folder does not exist."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "vectors.npy", self.vectors_)
        params = self.params()
        if self.encoder and str(self.encoder).lower() not in MINILM_NAMES | MULTILINGUAL_NAMES:
            source = Path(self.encoder)
            if source.resolve() != (path / "encoder").resolve():
                shutil.copytree(source, path / "encoder", dirs_exist_ok=True)
            params["encoder"] = "encoder"  # relative to the model folder
        (path / "params.json").write_text(json.dumps(params, indent=2))

    @classmethod
    def load(cls, path: Path) -> Self:
        path = Path(path)
        params = json.loads((path / "params.json").read_text())
        if params.get("encoder") == "encoder":
            params["encoder"] = str(path / "encoder")
        model = cls(**params)
        model.vectors_ = np.load(path / "vectors.npy")
        model._load_extra(path)
        return model

    def _load_extra(self, path: Path) -> None:
        """Subclasses read their own extra files here."""


def interest_vectors(histories: Sequence[History], vectors: np.ndarray,
                     half_life: float = 3.0) -> np.ndarray:
    """Recency-weighted mean of each history's item vectors, unit length (zero if empty).

    The latest item weighs 1 and the weight halves every `half_life` items back; event values
    (e.g. 0 for a dismissal) multiply the weights where the history has them."""
    out = np.zeros((len(histories), vectors.shape[1]), dtype=np.float32)
    decay = 0.5 ** (1.0 / max(half_life, 1e-6))
    for row, h in enumerate(histories):
        if len(h) == 0:
            continue
        weights = decay ** np.arange(len(h) - 1, -1, -1, dtype=np.float64)
        if h.values is not None:
            weights = weights * np.clip(np.asarray(h.values, dtype=np.float64), 0.0, None)
        out[row] = (weights[:, None] * vectors[h.items]).sum(0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
