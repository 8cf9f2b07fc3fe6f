"""The shop's business rules, written once: which items a list may show.

Filters (category, brand, price range, an exclude list) narrow a list to what the shopper asked
for; the hide rules (owned, dismissed, consumable) are applied in `shopper_state`. A filter the
catalogue cannot answer (a price bound on a catalogue without prices) is an error, never a
silently ignored option. An item whose price is unknown fails a price filter; items added
after training are filtered by their catalogue record like every other item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shoprec.data.errors import DataError
from shoprec.engine.catalogue import Catalogue
from shoprec.store.records import ITEM_TYPES


@dataclass(frozen=True)
class Filters:
    category: str | None = None  # the category or one level of its path, any case
    brand: str | None = None  # any case
    min_price: float | None = None
    max_price: float | None = None
    exclude: tuple[str, ...] = field(default_factory=tuple)  # item ids never to show
    item_type: str | None = None  # product, article, video or ad (a surface asks for one)

    def __post_init__(self) -> None:
        if self.item_type is not None and self.item_type not in ITEM_TYPES:
            raise DataError(f"type: expected one of {', '.join(ITEM_TYPES)}, got "
                            f"{self.item_type!r}")
        if (self.min_price is not None and self.max_price is not None
                and self.min_price > self.max_price):
            raise DataError(f"price filter: min_price {self.min_price:g} is above max_price "
                            f"{self.max_price:g}")
        object.__setattr__(self, "exclude", tuple(self.exclude))

    @property
    def narrows(self) -> bool:
        """True when the filters restrict which items may appear (beyond the exclude list)."""
        return any(v is not None for v in (self.category, self.brand, self.min_price,
                                           self.max_price, self.item_type))


def allowed_mask(filters: Filters, item_ids: Sequence[str], item_index: dict[str, int],
                 catalogue: Catalogue) -> np.ndarray | None:
    """Boolean mask over `item_ids` of the items the filters let through; None without filters.
    DataError when the catalogue has no value at all for a filtered field."""
    if not filters.narrows:
        return None
    mask = np.ones(len(item_ids), dtype=bool)
    if filters.category is not None:
        if not catalogue.has_categories():
            raise DataError("category filter: this catalogue has no categories")
        mask &= _members(catalogue.in_category(filters.category), item_index, len(item_ids))
    if filters.brand is not None:
        if not catalogue.has_brands():
            raise DataError("brand filter: this catalogue has no brands")
        mask &= _members(catalogue.of_brand(filters.brand), item_index, len(item_ids))
    if filters.item_type is not None:
        mask &= _members(catalogue.of_type(filters.item_type), item_index, len(item_ids))
    if filters.min_price is not None or filters.max_price is not None:
        if not catalogue.has_prices():
            raise DataError("price filter: this catalogue has no prices")
        price = catalogue.prices(item_ids)
        with np.errstate(invalid="ignore"):
            if filters.min_price is not None:
                mask &= price >= filters.min_price
            if filters.max_price is not None:
                mask &= price <= filters.max_price
    return mask


def excluded_indices(filters: Filters, item_index: dict[str, int], n_items: int) -> set[int]:
    return {i for x in filters.exclude if (i := item_index.get(x, n_items)) < n_items}


def _members(ids: set[str], item_index: dict[str, int], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    found = [i for x in ids if (i := item_index.get(x, n)) < n]
    mask[found] = True
    return mask


NO_FILTERS = Filters()
