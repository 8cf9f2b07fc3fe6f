"""What a chat reader knows about the shop, built once per serving bundle and catalogue names.

The vocabulary follows the live catalogue (`shop_names.vocabulary`). The brand facts are kept
per vocabulary (they change when the names do). The category meaning needs the serving
bundle's item vectors and query encoder and a calibration that encodes a few hundred held-out
requests, so it is built once per encoder and set of category levels (the search warm-up
builds it before the first chat turn), its texts' vectors kept in the embedding cache so a
restart encodes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shoprec.engine import category_meaning
from shoprec.engine.brands import BrandFacts, brand_facts
from shoprec.engine.calibration import held_out_requests
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.category_meaning import CategoryMeaning, MeaningCache
from shoprec.engine.reading import NEEDS, Understanding
from shoprec.engine.shop_names import Vocabulary, vocabulary
from shoprec.text.cache import EmbeddingCache, default_cache_dir

if TYPE_CHECKING:
    from shoprec.engine.serving import Serving
    from shoprec.text.query import QueryEncoder


def understanding_for(serving: Serving, catalogue: Catalogue, reader: str) -> Understanding:
    """The shop as reader `reader` needs it (`reading.NEEDS`)."""
    vocab = vocabulary(catalogue)
    needs = NEEDS.get(reader, frozenset())
    brands = facts_for(catalogue, vocab) if "brands" in needs else None
    meaning = encode = None
    if needs & {"meaning", "encode"}:
        vectors, encoder = serving.searcher.query_space()
        encode = encoder.encode_query
        if "meaning" in needs and vocab.categories:
            meaning = meaning_for(serving, catalogue, vocab, vectors, encoder)
    return Understanding(vocab, brands, meaning, encode)


def facts_for(catalogue: Catalogue, vocab: Vocabulary) -> BrandFacts:
    cached = getattr(catalogue, "_chat_brand_facts", None)
    if cached is not None and cached[0] is vocab:
        return cached[1]
    facts = brand_facts(catalogue, vocab)
    catalogue._chat_brand_facts = (vocab, facts)  # type: ignore[attr-defined]
    return facts


def meaning_for(serving: Serving, catalogue: Catalogue, vocab: Vocabulary, vectors: np.ndarray,
                encoder: QueryEncoder) -> CategoryMeaning:
    cache = serving.searcher.__dict__.setdefault("_chat_meaning", MeaningCache())
    key = (encoder.identity, tuple(sorted(vocab.categories.items())))
    return cache.get(key, lambda: build_meaning(serving, catalogue, vocab, vectors, encoder))


def build_meaning(serving: Serving, catalogue: Catalogue, vocab: Vocabulary, vectors: np.ndarray,
                  encoder: QueryEncoder) -> CategoryMeaning:
    """Encode the category paths, then calibrate on the catalogue's held-out half."""
    records = [r for i in catalogue.ids() if (r := catalogue.get(i)) is not None]
    index = serving.item_index

    def item_vector(item_id: str) -> np.ndarray | None:
        row = index.get(item_id)
        if row is None or row >= len(vectors) or not vectors[row].any():
            return None
        return vectors[row]

    store = EmbeddingCache(default_cache_dir(), encoder.identity, encoder.dim)

    def encode(texts: list[str]) -> np.ndarray:
        return store.vectors(texts, encoder) if texts else np.zeros((0, encoder.dim), np.float32)

    def named_level(text: str) -> str | None:
        found = vocab.category_names.find(text.lower())
        return found.name.lower() if found is not None and found.whole else None

    meaning = category_meaning.build(records, vocab.categories, item_vector, encode)
    held = held_out_requests(records, named_level=named_level)
    queries = encode([h.text for h in held])
    return category_meaning.calibrate(meaning, held, queries, {r.item_id: r for r in records},
                                      item_vector, [h.named for h in held])
