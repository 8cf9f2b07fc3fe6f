"""Profiles and model-faithful explanations (`shoprec.profiles`) for one serving bundle.

Built once per bundle. Catalogues without category/brand columns get their interest tags from
language-model topics, which need item vectors: the search warm-up supplies them (the model's own
vectors, or the encoded catalogue); until then profiles carry no tags and explanations fall back
to co-occurrence reasons (`ensure` returns None), so no request waits for a catalogue to be
encoded.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from shoprec.data.types import History
from shoprec.models.base import CarriesItemVectors

if TYPE_CHECKING:
    from shoprec.bundle import Bundle
    from shoprec.engine.searching import Searcher
    from shoprec.profiles import Explainer, ProfileBuilder
    from shoprec.profiles.explain import Reason


class Insight:
    """Profiles and explanations of one bundle; the search warm-up's vectors give them topics."""

    def __init__(self, bundle: Bundle, searcher: Searcher) -> None:
        self.bundle = bundle
        self.searcher = searcher
        self._lock = threading.Lock()
        self._builder: ProfileBuilder | None = None
        self._explainer: Explainer | None = None
        self._with_vectors = False

    def _build(self, vectors: np.ndarray | None) -> None:
        from shoprec.profiles.bundle_profiles import builder_for_bundle, explainer_for_bundle

        bundle = self.bundle
        if vectors is not None:
            vectors = np.asarray(vectors[: bundle.dataset.n_items], dtype=np.float32)
        builder = builder_for_bundle(bundle, item_vectors=vectors, encode=False)
        self._explainer = explainer_for_bundle(bundle, builder)
        self._builder = builder
        self._with_vectors = builder.vectors_ is not None

    def ensure(self) -> tuple[ProfileBuilder, Explainer] | None:
        """The builder and explainer; built now only when that needs no catalogue encoding
        (the model carries item vectors, or the catalogue has category/brand tags), else None
        until `warm_up` has run."""
        with self._lock:
            if self._builder is None:
                from shoprec.profiles.tags import tags_from_columns

                bundle = self.bundle
                model = bundle.model
                vectors = model.item_text_vectors if isinstance(model, CarriesItemVectors) else None
                vectors = vectors if isinstance(vectors, np.ndarray) else None
                if vectors is None and tags_from_columns(bundle.dataset.items).n_tags == 0:
                    return None
                self._build(vectors)
            return self._builder, self._explainer  # type: ignore[return-value]

    def warm_up(self) -> None:
        """Rebuild with the search vectors (topics for text-only catalogues)."""
        vectors = self.searcher.vectors()
        with self._lock:
            if not self._with_vectors:
                self._build(vectors)

    def profile(self, history: History, user_id: str, now: int | None, top_tags: int = 10
                ) -> dict[str, Any] | None:
        ready = self.ensure()
        if ready is None:
            return None
        builder, _ = ready
        trimmed = history.select(history.items < builder.n_items_)
        return builder.build(trimmed, user_id, now).to_json(top_tags=top_tags)

    def reasons(self, history: History, items: list[int], exclude_user: int | None = None
                ) -> list[str | None]:
        """The strongest reason for each item (None where the explainer has none)."""
        found = self.explanations(history, items, exclude_user)
        return [rs[0].text if rs else None for rs in found]

    def explanations(self, history: History, items: list[int], exclude_user: int | None = None
                     ) -> list[list[Reason]]:
        """Every reason for each item with the number behind it, strongest first ([] where the
        explainer has none, or is not built yet)."""
        ready = self.ensure()
        if ready is None:
            return [[] for _ in items]
        builder, explainer = ready
        known = history.items < builder.n_items_
        trimmed = History(history.items[known], None, None if history.timestamps is None
                          else history.timestamps[known])
        targets = [i for i in items if i < builder.n_items_]
        if not len(trimmed) or not targets:
            return [[] for _ in items]
        found = dict(zip(targets, explainer.explain(self.bundle.model, trimmed, targets,
                                                          exclude_user=exclude_user)))
        return [list(found.get(i) or []) for i in items]
