"""Natural-language search over a serving bundle's catalogue, for `shoprec search` and
`GET /search` alike.

The query is read by the same sentence encoder as the items, so "red nail polish" finds nail
lacquers whose titles never say "polish". With a shopper's history, their interest vector (the
recency-weighted mean of their items' vectors) nudges results toward their taste. The vector
index is built once per serving bundle (and rebuilt when the catalogue grows); filters are the
engine's rules over the live catalogue (so `POST /items` updates count).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import polars as pl

from shoprec.data.errors import DataError
from shoprec.data.types import History
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.ranked import Ranked
from shoprec.engine.rules import NO_FILTERS, Filters, allowed_mask, excluded_indices
from shoprec.index import VectorIndex, build_index
from shoprec.models.content import ContentModel
from shoprec.text import Encoder, get_encoder, item_vectors
from shoprec.text.query import QueryEncoder, query_encoder

PERSONAL_WEIGHT = 0.3


class Searcher:
    """Item vectors + query encoder + index of one bundle, made on first use or by `warm_up`
    (the service warms at start, so its first query costs what every other does). Queries go
    through `QueryEncoder`: the items' encoder on the ONNX path, one thread, recent queries kept."""

    def __init__(self, bundle: object) -> None:
        self.bundle = bundle
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._encoder: Encoder | None = None
        self._queries: dict[str, QueryEncoder] = {}  # by the item encoder's identity
        self._index: VectorIndex | None = None
        self._indexed = 0
        self._added: list[tuple[int, pl.DataFrame]] = []  # items added after load, by start index
        self._ready = False

    def warm_up(self) -> None:
        self._current()

    @property
    def ready(self) -> bool:
        """True once the item vectors and the query encoder are built: a search then encodes
        one query, never the catalogue (the service answers 503 before, while it warms up)."""
        return self._ready

    @property
    def building(self) -> bool:
        """True while another thread builds the vectors (a call now would wait for it)."""
        return not self._ready and self._lock.locked()

    def query_space(self) -> tuple[np.ndarray, QueryEncoder]:
        """The item vectors and the query encoder that writes into their space (for chat)."""
        vectors, encoder, _ = self._current()
        return vectors, encoder

    def vectors(self) -> np.ndarray:
        """The item vectors search uses (encoding the catalogue on first call)."""
        return self._current()[0]

    def add_items(self, items: pl.DataFrame, start: int) -> None:
        """Items the serving model took after load (catalogue rows, item indices from `start`):
        searched from now on. A content model's own vectors already hold them; otherwise they are
        encoded here, now when the catalogue's vectors exist, else when those are first built.
        Adding at a `start` already held replaces what was there (a serving copy re-adopting)."""
        with self._lock:
            self._added = [(s, f) for s, f in self._added if s < start] + [(start, items)]
            if self._vectors is not None:
                self._vectors = _with_items(self._vectors, self._encoder, items, start)
            self._index = None

    def _current(self) -> tuple[np.ndarray, QueryEncoder, VectorIndex]:
        with self._lock:
            model = self.bundle.model
            if isinstance(model, ContentModel):  # its vectors grow with add_items_from_text
                vectors, encoder = model.vectors_, model.get_encoder()
            else:
                if self._vectors is None:
                    vectors, encoder = bundle_vectors(self.bundle)
                    for start, items in self._added:
                        vectors = _with_items(vectors, encoder, items, start)
                    self._vectors, self._encoder = vectors, encoder
                vectors, encoder = self._vectors, self._encoder
            if self._index is None or self._indexed != len(vectors):
                self._index, self._indexed = build_index(vectors), len(vectors)
            if encoder.identity not in self._queries:
                self._queries[encoder.identity] = query_encoder(encoder)
            self._ready = True
            return vectors, self._queries[encoder.identity], self._index

    def search(
        self, query: str, k: int, item_ids: Sequence[str], item_index: dict[str, int],
        catalogue: Catalogue, history: History | None = None, filters: Filters = NO_FILTERS,
        personal_weight: float = PERSONAL_WEIGHT,
    ) -> list[Ranked]:
        """Top-k items for `query`, best first. DataError for an empty query or a filter the
        catalogue cannot answer."""
        if not query.strip():
            raise DataError("search: the query is empty")
        allowed = allowed_mask(filters, item_ids, item_index, catalogue)
        vectors, encoder, index = self._current()
        n = min(len(vectors), len(item_ids))
        q = encoder.encode_query(query)
        personal = history is not None and len(history) > 0 and personal_weight != 0
        if personal:
            taste = ContentModel(half_life=3.0)
            taste.vectors_ = vectors
            q = q + personal_weight * taste.profiles([history])[0]
        if allowed is not None or filters.exclude:
            allowed = np.ones(len(vectors), bool) if allowed is None else np.concatenate(
                [allowed[:n], np.zeros(max(len(vectors) - n, 0), bool)])
            allowed[sorted(excluded_indices(filters, item_index, n))] = False
        idx, val = index.search(q[None, :], k, allowed)
        reason = f"Matches “{query}”" + (", tuned to your taste" if personal else "")
        return [Ranked(item_ids[int(i)], float(s), reason)
                for i, s in zip(idx[0], val[0]) if 0 <= i < n]

    def neighbours(self, item: int, k: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosines) of the `k` items among the first `n_items` whose text vectors are
        closest to item `item`'s, best first, the item itself left out; empty for an item
        without text (its vector is zero, close to nothing)."""
        vectors, _, index = self._current()
        if item >= len(vectors) or not np.any(vectors[item]):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        allowed = np.zeros(len(vectors), bool)
        allowed[:n_items] = True
        allowed[item] = False
        idx, val = index.search(vectors[item][None, :], k, allowed)
        keep = (idx[0] >= 0) & np.isfinite(val[0])
        return idx[0][keep].astype(np.int64), val[0][keep]


def _with_items(vectors: np.ndarray, encoder: Encoder, items: pl.DataFrame,
                start: int) -> np.ndarray:
    """`vectors` up to `start`, then `items` encoded."""
    return np.concatenate([vectors[:start], item_vectors(items, encoder)])


def bundle_vectors(bundle: object) -> tuple[np.ndarray, Encoder]:
    """The item vectors a content-family model carries, else the catalogue encoded (cached)."""
    model = bundle.model
    if isinstance(model, ContentModel):
        return model.vectors_, model.get_encoder()
    from shoprec.bundle import encoder_of

    encoder = get_encoder(encoder_of(bundle))
    return item_vectors(bundle.dataset.items, encoder), encoder
