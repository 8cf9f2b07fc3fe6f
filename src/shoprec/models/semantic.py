"""Semantic matching of shopper and item: the shopper's recent item texts read as one query.

Averaging item vectors (`content`) loses word-level meaning that a sentence encoder sees when it
reads the titles together ("shampoo; conditioner; hair mask" is a hair-care query). This model
encodes that joined text with the same encoder as the items and blends its cosine with the
content model's: score = weight * query_cosine + (1 - weight) * content_cosine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import polars as pl

from shoprec.models.base import History, TrainData
from shoprec.models.content import ContentModel

#: Batches at least this large go through the on-disk embedding cache (evaluation, grid search);
#: single online queries are encoded directly.
CACHE_BATCH = 64


class SemanticModel(ContentModel):
    """`recent`: how many of the latest items form the query; `weight`: share of the query cosine."""

    name = "semantic"

    def __init__(self, weight: float = 0.5, recent: int = 3, half_life: float = 1.0,
                 encoder: str | None = None, backend: str | None = None,
                 threads: int | None = None, cache_dir: str | None = None) -> None:
        super().__init__(half_life=half_life, encoder=encoder, backend=backend, threads=threads,
                         cache_dir=cache_dir)
        self.weight = weight
        self.recent = recent

    def fit(self, data: TrainData) -> Self:
        from shoprec.text.item_text import build_item_text

        super().fit(data)
        self.texts_ = build_item_text(data.items)
        return self

    def add_items(self, vectors: np.ndarray) -> np.ndarray:
        added = super().add_items(vectors)
        self.texts_ = self.texts_ + [""] * len(added)
        return added

    def add_catalogue_items(self, items: pl.DataFrame) -> np.ndarray:
        from shoprec.text.item_text import build_item_text

        added = super().add_catalogue_items(items)
        self.texts_[-len(added):] = build_item_text(items)
        return added

    def query_text(self, history: History) -> str:
        """The latest `recent` distinct item texts, newest first, joined."""
        texts: list[str] = []
        for item in history.items[::-1].tolist():
            text = self.texts_[item]
            if text and text not in texts:
                texts.append(text)
            if len(texts) == self.recent:
                break
        return "; ".join(texts)

    def query_vectors(self, histories: Sequence[History]) -> np.ndarray:
        queries = [self.query_text(h) for h in histories]
        encoder = self.get_encoder()
        if len(queries) >= CACHE_BATCH:
            from shoprec.text.cache import EmbeddingCache, default_cache_dir

            cache = EmbeddingCache(Path(self.cache_dir) if self.cache_dir else default_cache_dir(),
                                   encoder.identity, encoder.dim)
            vectors = cache.vectors(queries, encoder, show_progress=len(queries) > 2000)
        else:
            vectors = encoder.encode(queries)
        vectors[[not q for q in queries]] = 0.0
        return vectors

    def score(self, histories: Sequence[History]) -> np.ndarray:
        content = super().score(histories)
        semantic = self.query_vectors(histories) @ self.vectors_.T
        return self.weight * semantic + (1.0 - self.weight) * content

    def params(self) -> dict:
        return {**super().params(), "weight": self.weight, "recent": self.recent}

    def save(self, path: Path) -> None:
        super().save(path)
        (Path(path) / "texts.json").write_text(json.dumps(self.texts_, ensure_ascii=False))

    def _load_extra(self, path: Path) -> None:
        self.texts_ = json.loads((path / "texts.json").read_text())
