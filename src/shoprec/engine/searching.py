"""Natural-language search for the running service, built on `shoprec.search`'s pieces.

Differences from the one-shot `shoprec search`: the vector index is built once per serving
bundle (and rebuilt when the catalogue grows), personalisation uses the shopper's fresh history
from the store, and filters read the live catalogue (so `POST /items` updates count).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.recommending import Ranked
from shoprec.index import VectorIndex, build_index
from shoprec.models.base import History
from shoprec.models.content import ContentModel
from shoprec.text import Encoder

PERSONAL_WEIGHT = 0.3


class Searcher:
    """Item vectors + encoder + index of one bundle; everything is made on first use."""

    def __init__(self, bundle: object) -> None:
        self.bundle = bundle
        self._lock = threading.Lock()
        self._vectors: np.ndarray | None = None
        self._encoder: Encoder | None = None
        self._index: VectorIndex | None = None
        self._indexed = 0

    def warm_up(self) -> None:
        self._current()

    def vectors(self) -> np.ndarray:
        """The item vectors search uses (encoding the catalogue on first call)."""
        return self._current()[0]

    def _current(self) -> tuple[np.ndarray, Encoder, VectorIndex]:
        with self._lock:
            model = self.bundle.model
            if isinstance(model, ContentModel):  # its vectors grow with add_catalogue_items
                vectors, encoder = model.vectors_, model.get_encoder()
            else:
                if self._vectors is None:
                    from shoprec.search import bundle_vectors

                    self._vectors, self._encoder = bundle_vectors(self.bundle)
                vectors, encoder = self._vectors, self._encoder
            if self._index is None or self._indexed != len(vectors):
                self._index, self._indexed = build_index(vectors), len(vectors)
            return vectors, encoder, self._index

    def search(
        self, query: str, k: int, item_ids: Sequence[str], catalogue: Catalogue,
        history: History | None = None, category: str | None = None,
        min_price: float | None = None, max_price: float | None = None,
    ) -> list[Ranked]:
        vectors, encoder, index = self._current()
        n = min(len(vectors), len(item_ids))
        q = encoder.encode([query])[0].astype(np.float32)
        if history is not None and len(history):
            taste = ContentModel(half_life=3.0)
            taste.vectors_ = vectors
            q = q + PERSONAL_WEIGHT * taste.profiles([history])[0]
        allowed = filter_mask(item_ids[:len(vectors)], catalogue, category, min_price, max_price)
        if allowed is not None and len(allowed) < len(vectors):
            allowed = np.concatenate([allowed, np.zeros(len(vectors) - len(allowed), bool)])
        idx, val = index.search(q[None, :], k, allowed)
        reason = f"Matches “{query}”" + (", tuned to your taste" if history is not None
                                           and len(history) else "")
        return [Ranked(item_ids[int(i)], float(s), reason)
                for i, s in zip(idx[0], val[0]) if 0 <= i < n]


def filter_mask(item_ids: Sequence[str], catalogue: Catalogue, category: str | None,
                min_price: float | None, max_price: float | None) -> np.ndarray | None:
    """Items whose live catalogue record passes the filters (unknown price fails a price filter)."""
    if category is None and min_price is None and max_price is None:
        return None
    members = catalogue.in_category(category) if category else None
    mask = np.zeros(len(item_ids), dtype=bool)
    for n, item_id in enumerate(item_ids):
        if members is not None and item_id not in members:
            continue
        if min_price is not None or max_price is not None:
            record = catalogue.get(item_id)
            price = record.price if record else None
            if price is None or (min_price is not None and price < min_price) or (
                    max_price is not None and price > max_price):
                continue
        mask[n] = True
    return mask
