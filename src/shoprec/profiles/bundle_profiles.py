"""Profiles and explanations wired to a trained bundle: what `shoprec profile` and the service use.

Tags come from the catalogue's category/brand columns when it has them. Otherwise they are
topics of the language-model item vectors: the bundle model's own vectors when it has them
(content, semantic), else `shoprec.text.item_vectors` (its embedding cache makes repeats cheap).
Topic names are computed once per catalogue and kept in BUNDLE/profiles/topics.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shoprec.bundle import Bundle
from shoprec.data.splits import full_train
from shoprec.models.base import CarriesItemVectors
from shoprec.profiles.explain import Explainer, SimilarShoppers
from shoprec.profiles.profile import ProfileBuilder
from shoprec.profiles.tags import item_tags, tags_from_columns

PROFILES_FOLDER = "profiles"


def bundle_item_vectors(bundle: Bundle, encode: bool = True) -> np.ndarray | None:
    """The model's item vectors if it has one per catalogue row, else freshly encoded ones
    (`encode=False`: None instead of encoding)."""
    model = bundle.model
    vectors = model.item_text_vectors if isinstance(model, CarriesItemVectors) else None
    n = bundle.dataset.n_items
    if isinstance(vectors, np.ndarray) and vectors.ndim == 2 and len(vectors) >= n:
        return np.asarray(vectors[:n], dtype=np.float32)
    if not encode:
        return None
    from shoprec.text import item_vectors

    return item_vectors(bundle.dataset.items, show_progress=n > 2000)


def builder_for_bundle(bundle: Bundle, half_life_days: float = 180.0,
                       item_vectors: np.ndarray | None = None,
                       encode: bool = True) -> ProfileBuilder:
    """A fitted ProfileBuilder over the bundle's catalogue and shoppers.

    Vectors are needed for topics (catalogues without category/brand: then they are always
    found or encoded) and for the profile's interest vector (`encode=False` skips encoding them
    for that alone); pass them when the caller already has them."""
    items = bundle.dataset.items
    needs_topics = tags_from_columns(items).n_tags == 0
    vectors = item_vectors
    if vectors is None:
        vectors = bundle_item_vectors(bundle, encode=encode or needs_topics)
    tags = item_tags(items, vectors, cache_folder=Path(bundle.path) / PROFILES_FOLDER)
    return ProfileBuilder(half_life_days).fit(bundle.dataset, vectors, tags)


#: How "because you ... X" reads for the shop's most common event type.
VERBS = {"rating": "rated", "view": "viewed", "click": "looked at", "cart": "added to your cart"}


def explainer_for_bundle(bundle: Bundle, builder: ProfileBuilder | None = None,
                         item_vectors: np.ndarray | None = None, verb: str | None = None,
                         n_neighbours: int = 50) -> Explainer:
    """An Explainer whose "shoppers like you" are the bundle's training shoppers."""
    if verb is None:
        events = bundle.dataset.interactions["event"]
        common = events.mode().sort()[0] if events.len() else "purchase"
        verb = VERBS.get(common, "bought")
    similar = SimilarShoppers(n_neighbours).fit(full_train(bundle.dataset).matrix)
    vectors = item_vectors if item_vectors is not None else (
        builder.vectors_ if builder is not None else None)
    return Explainer(bundle.dataset.items, builder, vectors, similar, verb)
