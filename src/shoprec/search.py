"""Natural-language search over a bundle's catalogue, optionally personalised and filtered.

The query is read by the same sentence encoder as the items, so "red nail polish" finds nail
lacquers whose titles never say "polish". With a shopper id, their interest vector (the content
model's recency-weighted mean of history item vectors) nudges results toward their taste.
Filters on structured fields apply only where the catalogue has them; asking for a filter the
catalogue cannot answer is an error, not a silently ignored option.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from shoprec.bundle import Bundle
from shoprec.data.errors import DataError
from shoprec.index import build_index
from shoprec.models.content import ContentModel, interest_vectors
from shoprec.recommend import describe, user_history
from shoprec.text import Encoder, get_encoder, item_vectors

CATEGORY_COLUMNS = ("category", "categories", "genre", "cat")


@dataclass(frozen=True)
class SearchFilters:
    min_price: float | None = None
    max_price: float | None = None
    category: str | None = None  # case-insensitive substring of the item's category


def allowed_items(items: pl.DataFrame, filters: SearchFilters) -> np.ndarray | None:
    """Boolean mask over catalogue rows, or None when no filter is set."""
    mask = np.ones(items.height, dtype=bool)
    if filters.min_price is not None or filters.max_price is not None:
        if "price" not in items.columns:
            raise DataError("price filter: this catalogue has no price column")
        price = items["price"].cast(pl.Float64, strict=False).to_numpy()
        known = np.isfinite(price)
        mask &= known
        if filters.min_price is not None:
            mask &= np.where(known, price, -np.inf) >= filters.min_price
        if filters.max_price is not None:
            mask &= np.where(known, price, np.inf) <= filters.max_price
    if filters.category:
        column = next((c for c in CATEGORY_COLUMNS if c in items.columns), None)
        if column is None:
            raise DataError(f"category filter: this catalogue has none of the columns "
                            f"{', '.join(CATEGORY_COLUMNS)}")
        values = items[column].cast(pl.String).fill_null("").str.to_lowercase()
        mask &= values.str.contains(filters.category.lower(), literal=True).to_numpy()
    if filters == SearchFilters():
        return None
    return mask


def bundle_vectors(bundle: Bundle) -> tuple[np.ndarray, Encoder]:
    """The item vectors a content-family model carries, else the catalogue encoded (cached)."""
    model = bundle.model
    if isinstance(model, ContentModel):
        return model.vectors_, model.get_encoder()
    encoder = get_encoder()
    return item_vectors(bundle.dataset.items, encoder), encoder


def search_items(
    bundle: Bundle, query: str, k: int = 10, user_id: str | None = None,
    filters: SearchFilters | None = None, personal_weight: float = 0.3,
) -> list[dict]:
    """Top-k items for `query` (best first) as dicts with item_id, title and score."""
    if not query.strip():
        raise DataError("search: the query is empty")
    vectors, encoder = bundle_vectors(bundle)
    q = encoder.encode([query])[0]
    if user_id is not None:
        q = q + personal_weight * interest_vectors([user_history(bundle, user_id)], vectors)[0]
    mask = allowed_items(bundle.dataset.items, filters or SearchFilters())
    if mask is not None and len(vectors) > len(mask):  # items added after training: unfiltered
        mask = np.concatenate([mask, np.ones(len(vectors) - len(mask), dtype=bool)])
    idx, val = build_index(vectors).search(q[None, :], k, mask)
    return describe(bundle, idx[0], val[0])
