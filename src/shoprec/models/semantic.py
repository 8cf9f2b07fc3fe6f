"""Semantic matching of shopper and item: the shopper's recent item texts read as one query.

Averaging item vectors (`content`) loses word-level meaning that a sentence encoder sees when it
reads the titles together ("shampoo; conditioner; hair mask" is a hair-care query). This model
encodes that joined text with the same encoder as the items and blends its cosine with the
content model's: score = weight * query_cosine + (1 - weight) * content_cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import polars as pl

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import ExactTerms
from shoprec.models.content import ContentConfig, ContentModel
from shoprec.models.files import State

#: Batches at least this large go through the on-disk embedding cache (evaluation, grid search);
#: single online queries are encoded directly.
CACHE_BATCH = 64


@dataclass(frozen=True)
class SemanticConfig(ContentConfig):
    """`weight`: share of the query cosine; `recent`: how many of the latest items form the
    query; the rest as `ContentConfig`."""

    weight: float = 0.5
    recent: int = 3


class SemanticModel(ContentModel):
    name = "semantic"
    Config = SemanticConfig
    config: SemanticConfig

    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        from shoprec.text.item_text import build_item_text

        super().fit(data)
        self.texts_ = build_item_text(data.items)
        return self

    def add_items_from_text(self, items: pl.DataFrame) -> np.ndarray:
        """As `ContentModel`'s, keeping each new item's text for the shopper queries (the texts
        grow first: a history may name a new item as soon as its vector is there)."""
        from shoprec.text.item_text import build_item_text

        vectors = self._item_vectors(items)
        self.texts_ = self.texts_ + build_item_text(items)
        return self._append_vectors(vectors)

    def query_text(self, history: History) -> str:
        """The latest `recent` distinct item texts, newest first, joined."""
        texts: list[str] = []
        for item in history.items[::-1].tolist():
            text = self.texts_[item]
            if text and text not in texts:
                texts.append(text)
            if len(texts) == self.config.recent:
                break
        return "; ".join(texts)

    def query_vectors(self, histories: Sequence[History]) -> np.ndarray:
        queries = [self.query_text(h) for h in histories]
        encoder = self.get_encoder()
        if len(queries) >= CACHE_BATCH:
            from shoprec.text.cache import EmbeddingCache, default_cache_dir

            folder = self.config.cache_dir
            cache = EmbeddingCache(Path(folder) if folder else default_cache_dir(),
                                   encoder.identity, encoder.dim)
            vectors = cache.vectors(queries, encoder, show_progress=len(queries) > 2000)
        else:
            vectors = encoder.encode(queries)
        vectors[[not q for q in queries]] = 0.0
        return vectors

    def score(self, histories: Sequence[History]) -> np.ndarray:
        content = super().score(histories)
        semantic = self.query_vectors(histories) @ self.vectors_.T
        return self.config.weight * semantic + (1.0 - self.config.weight) * content

    def attribution_terms(self, history: History, targets: np.ndarray) -> ExactTerms | None:
        """The content part's exact terms when the query has no weight; otherwise None (the
        query cosine is not a sum over history items, so explanations leave items out)."""
        if self.config.weight == 0:
            return super().attribution_terms(history, targets)
        return None

    def _state(self) -> State:
        return {**super()._state(), "texts": self.texts_[:self.trained_items]}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        super()._restore(state, fitted)
        self.texts_ = state["texts"]
