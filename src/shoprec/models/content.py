"""Content-based recommendation from what items say, not who bought them.

A shopper's interest vector is the recency-weighted mean of the language-model vectors of the
items in their history; every item is ranked by cosine with it. Because an item needs only its
text, a brand-new item (no interactions yet) is recommendable the moment `add_items_from_text`
gives it a vector: the cold-start case collaborative models cannot serve.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import polars as pl

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import ExactTerms, Model, ModelConfig, distinct_items
from shoprec.models.files import State
from shoprec.text.encoder_tools import MINILM_NAMES, MULTILINGUAL_NAMES
from shoprec.text.encoders import Encoder, get_encoder
from shoprec.text.language import catalogue_encoder

#: what a saved model's config names as its encoder when the encoder folder was copied in
ENCODER_FOLDER = "encoder"


@dataclass(frozen=True)
class ContentConfig(ModelConfig):
    """`half_life`: how many interactions back an item's weight halves (most recent weighs 1).
    `encoder`/`backend`/`threads`: which sentence encoder reads the items and how (see
    `shoprec.text.get_encoder`); `cache_dir`: the embedding cache (None: the default one)."""

    half_life: float = 1.0
    encoder: str | None = None
    backend: str | None = None
    threads: int | None = None
    cache_dir: str | None = None


class ContentModel(Model):
    name = "content"
    Config = ContentConfig
    config: ContentConfig

    # ---- fitting and growing the catalogue ----
    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        if data.items.height != data.n_items or "item_id" not in data.items.columns:
            raise ValueError(
                f"{self.name}: needs the catalogue (TrainData.items with {data.n_items} rows and an "
                f"item_id column) to read item texts; got {data.items.height} rows")
        self.encoder_name_ = catalogue_encoder(data.items, self.config.encoder).name
        self._encoder = None
        self.vectors_ = self._item_vectors(data.items)
        self.trained_items_ = len(self.vectors_)
        return self

    def _item_vectors(self, items: pl.DataFrame) -> np.ndarray:
        from shoprec.text.cache import item_vectors

        cache = Path(self.config.cache_dir) if self.config.cache_dir else None
        return item_vectors(items, self.get_encoder(), cache, show_progress=items.height > 2000)

    @property
    def encoder_name(self) -> str | None:
        """The encoder's name: the config's, else the one chosen for the catalogue at fit (the
        multilingual one for a Chinese catalogue, see `shoprec.text.language`)."""
        return self.config.encoder or getattr(self, "encoder_name_", None)

    def get_encoder(self) -> Encoder:
        """The encoder this model reads texts with (loaded once, on first need)."""
        if getattr(self, "_encoder", None) is None:
            c = self.config
            self._encoder = get_encoder(self.encoder_name, threads=c.threads, backend=c.backend)
        return self._encoder

    @property
    def adds_items(self) -> bool:
        """Always: an item needs nothing but its text (`AddsItems`)."""
        return True

    def add_items_from_text(self, items: pl.DataFrame) -> np.ndarray:
        """Encode new catalogue rows (the catalogue's columns) and append their vectors; returns
        their item indices. Scores widen at once: no retraining, the new items compete with the
        catalogue."""
        return self._append_vectors(self._item_vectors(items))

    def _append_vectors(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.vectors_.shape[1]:
            raise ValueError(f"new item vectors have {vectors.shape[1]} dimensions, "
                             f"the model's {self.vectors_.shape[1]}")
        start = len(self.vectors_)
        self.vectors_ = np.concatenate([self.vectors_, vectors])  # one assignment: readers see
        return np.arange(start, start + len(vectors))  # the old array or the whole new one

    @property
    def n_items(self) -> int:
        return len(self.vectors_)

    @property
    def item_text_vectors(self) -> np.ndarray:
        """One unit text vector per item, added ones included (`CarriesItemVectors`)."""
        return self.vectors_

    # ---- scoring ----
    def profiles(self, histories: Sequence[History]) -> np.ndarray:
        """(users, dim) unit interest vectors; all-zero for an empty history."""
        return interest_vectors(histories, self.vectors_, self.config.half_life)

    def score(self, histories: Sequence[History]) -> np.ndarray:
        return self.profiles(histories) @ self.vectors_.T

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms | None:
        """score(i) = <sum_k w_k v(h_k), v(i)> / |sum_k w_k v(h_k)|: one term per distinct item h,
        its summed recency weight times cos(h, i), over the shared norm."""
        hist = np.asarray(history.items, dtype=np.int64)
        w = _recency_weights(history, self.config.half_life)
        items = distinct_items(history)
        per_item = np.asarray([w[hist == i].sum() for i in items])
        vectors = self.vectors_
        norm = np.linalg.norm(per_item @ vectors[items].astype(np.float64))
        cos = vectors[targets].astype(np.float64) @ vectors[items].astype(np.float64).T
        terms = cos * per_item[None, :] / norm if norm > 0 else np.zeros_like(cos)
        return ExactTerms(items, terms, np.zeros(len(targets)))

    # ---- files ----
    def _state(self) -> State:
        """The trained catalogue's vectors: items added from text are not written, the live
        catalogue gives them again on load (the service adopts its new items at start), so a
        bundle's model always matches the bundle's own catalogue."""
        return {"vectors": self.vectors_[:self.trained_items]}

    @property
    def trained_items(self) -> int:
        """How many items the model was fitted on (those before any `add_items_from_text`)."""
        return getattr(self, "trained_items_", len(self.vectors_))

    def _fitted(self) -> dict[str, Any]:
        return {"encoder": getattr(self, "encoder_name_", None)}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        self.vectors_ = state["vectors"]
        self.trained_items_ = len(self.vectors_)
        self.encoder_name_ = fitted.get("encoder")

    def _config_for(self, path: Path) -> dict[str, Any]:
        """A local encoder folder is copied in (path/encoder) so the bundle can still encode new
        items and queries where that folder does not exist."""
        config = asdict(self.config)
        encoder = self.config.encoder
        if encoder and str(encoder).lower() not in MINILM_NAMES | MULTILINGUAL_NAMES:
            if Path(encoder).resolve() != (path / ENCODER_FOLDER).resolve():
                shutil.copytree(encoder, path / ENCODER_FOLDER, dirs_exist_ok=True)
            config["encoder"] = ENCODER_FOLDER  # relative to the model folder
        return config

    @classmethod
    def _config_from(cls, config: dict[str, Any], path: Path) -> dict[str, Any]:
        if config.get("encoder") == ENCODER_FOLDER:
            config = {**config, "encoder": str(path / ENCODER_FOLDER)}
        return config


def _recency_weights(history: History, half_life: float) -> np.ndarray:
    """Per interaction: the latest weighs 1, halving every `half_life` items back; event values
    (e.g. 0 for a dismissal) multiply the weights where the history has them."""
    decay = 0.5 ** (1.0 / max(half_life, 1e-6))
    weights = decay ** np.arange(len(history) - 1, -1, -1, dtype=np.float64)
    if history.values is not None:
        weights = weights * np.clip(np.asarray(history.values, dtype=np.float64), 0.0, None)
    return weights


def interest_vectors(histories: Sequence[History], vectors: np.ndarray,
                     half_life: float = 3.0) -> np.ndarray:
    """Recency-weighted mean of each history's item vectors (`_recency_weights`), unit length
    (zero if empty)."""
    out = np.zeros((len(histories), vectors.shape[1]), dtype=np.float32)
    for row, h in enumerate(histories):
        if len(h) == 0:
            continue
        weights = _recency_weights(h, half_life)
        out[row] = (weights[:, None] * vectors[h.items]).sum(0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
