"""The catalogue held in memory for cards and filters, kept in step with the store.

The service loads it from the store at start and updates it after `POST /items` commits (a card
never shows an item the store does not hold); the CLI loads it from the store beside a bundle,
or from the bundle's own catalogue. Either way the filters read it through the same indexes:
a category matches its whole name or any level of a category path ("Skin Care" matches
"Beauty > Skin Care > Face" and "Beauty, Skin Care"), a brand its name, both ignoring case.
An item without a brand is of the brand its title's first word names, where that word reads as
a brand (`title_words`): a catalogue without a brand column still answers "brand=OPI", and one
new item with a brand field joins those items instead of replacing them.

`names` are the categories and brands a chat message may use: those the catalogue can answer
(`title_words.TitleWords.field_answers`), so a name that one new item brings into a catalogue
without that field does not turn ordinary requests into a filter that keeps only that item.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from shoprec.engine.title_words import TitleWords
from shoprec.store import ItemRecord, Store
from shoprec.store.catalogue_table import item_record_from_row

#: What separates the levels of a category path in real catalogues.
_LEVELS = re.compile(r"\s*(?:>|\||,)\s*")


def category_levels(category: str | None) -> list[str]:
    """The levels of a category path as written ("Beauty > Skin Care" -> Beauty, Skin Care)."""
    return [p for p in _LEVELS.split((category or "").strip()) if p]


def category_keys(category: str | None) -> set[str]:
    """The names a category filter may use for an item: the whole value and each level."""
    if not category:
        return set()
    whole = category.strip().lower()
    return {whole, *(p for p in _LEVELS.split(whole) if p)}


class Catalogue:
    def __init__(self, records: Iterable[ItemRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ItemRecord] = {}
        self._by_category: dict[str, set[str]] = {}
        self._by_brand: dict[str, set[str]] = {}
        self._by_type: dict[str, set[str]] = {}
        self._levels: dict[str, str] = {}  # category level (lower case) -> as first written
        self._brands: dict[str, str] = {}  # brand (lower case) -> as first written
        self._prices: dict[int, tuple[Sequence[str], int, int, np.ndarray]] = {}  # by id(ids)
        self._words: TitleWords | None = None  # counted on first use, then kept up to date
        self._names: tuple[int, dict[str, str], dict[str, str]] | None = None
        self.version = 0  # grows with every update: cached arrays compare it
        self.update(records)

    @classmethod
    def from_store(cls, store: Store) -> Catalogue:
        return cls(store.all_items())

    @classmethod
    def from_frame(cls, items: pl.DataFrame) -> Catalogue:
        """A bundle's catalogue frame, read as the store reads it when seeded from the bundle."""
        return cls(item_record_from_row(row) for row in items.iter_rows(named=True))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> ItemRecord | None:
        return self._items.get(item_id)

    def update(self, records: Iterable[ItemRecord], if_version: int | None = None) -> bool:
        """Apply `records`; with `if_version`, only while `version` is still that (a reader that
        read the store before this process's own newer write must not put the old rows back).
        Whether they were applied."""
        with self._lock:
            if if_version is not None and if_version != self.version:
                return False
            for r in records:
                old = self._items.get(r.item_id)
                if old is not None:
                    for key in category_keys(old.category):
                        _discard(self._by_category, key, r.item_id)
                    if old.brand:
                        _discard(self._by_brand, old.brand.strip().lower(), r.item_id)
                    _discard(self._by_type, old.item_type, r.item_id)
                    if self._words is not None:
                        self._words.count(old, -1)
                self._items[r.item_id] = r
                for key in category_keys(r.category):
                    self._by_category.setdefault(key, set()).add(r.item_id)
                for level in category_levels(r.category):
                    self._levels.setdefault(level.lower(), level)
                if r.brand:
                    key = r.brand.strip().lower()
                    self._by_brand.setdefault(key, set()).add(r.item_id)
                    self._brands.setdefault(key, r.brand.strip())
                self._by_type.setdefault(r.item_type, set()).add(r.item_id)
                if self._words is not None:
                    self._words.count(r, 1)
            self.version += 1
            self._prices.clear()
            return True

    def _title_words(self) -> TitleWords:
        with self._lock:
            if self._words is None:
                words = TitleWords()
                for r in self._items.values():
                    words.count(r, 1)
                self._words = words
            return self._words

    def in_category(self, category: str) -> set[str]:
        """Item ids whose category, or one level of its path, is `category` (any case)."""
        with self._lock:  # copied whole while no update runs (search reads in the thread pool)
            return set(self._by_category.get(category.strip().lower(), ()))

    def of_brand(self, brand: str) -> set[str]:
        """Item ids whose brand is `brand` (any case): by their brand field, or, without one,
        by their title's first word where it reads as a brand."""
        key = brand.strip().lower()
        words = self._title_words()
        with self._lock:
            found = set(self._by_brand.get(key, ()))
            if key in words.brandless_by_head and words.reads_as_brand(key):
                found |= words.brandless_by_head[key]
        return found

    def of_type(self, item_type: str) -> set[str]:
        """Item ids of one type (product, article, video, ad; untyped items are products)."""
        with self._lock:
            return set(self._by_type.get(item_type, ()))

    def has_categories(self) -> bool:
        return bool(self._by_category)

    def has_brands(self) -> bool:
        """Some item has a brand: a brand field, or a title whose first word reads as one."""
        return bool(self._by_brand) or bool(self.names()[1])

    def field_brands(self) -> set[str]:
        """Lower-case brands that some item carries in its brand field (not from a title)."""
        with self._lock:
            return set(self._by_brand)

    def items_with_brand(self) -> int:
        """How many items carry a brand field."""
        with self._lock:
            return len({i for members in self._by_brand.values() for i in members})

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """(category levels, brands) a chat message may name, by lower-case key: those the
        catalogue can answer (cached per version)."""
        cached = self._names
        if cached is not None and cached[0] == self.version:
            return cached[1], cached[2]
        words = self._title_words()
        with self._lock:
            version = self.version
            categories = {k: v for k, v in self._levels.items() if self._by_category.get(k)
                          and words.field_answers("category", k)}
            brands = {k: v for k, v in self._brands.items() if self._by_brand.get(k)
                      and words.field_answers("brand", k)}
            for k, v in words.head_brands().items():
                brands.setdefault(k, v)
        self._names = (version, categories, brands)
        return categories, brands

    def has_prices(self) -> bool:
        return any(r.price is not None for r in self._items.values())

    def categories(self) -> list[str]:
        return sorted({r.category for r in self._items.values() if r.category})

    def is_consumable(self, item_id: str) -> bool:
        item = self._items.get(item_id)
        return bool(item and item.consumable)

    def ids(self) -> list[str]:
        return list(self._items)

    def prices(self, item_ids: Sequence[str]) -> np.ndarray:
        """Prices aligned with `item_ids` (NaN where unknown), cached per id list and version."""
        key = id(item_ids)
        cached = self._prices.get(key)
        if (cached is not None and cached[0] is item_ids and cached[1] == len(item_ids)
                and cached[2] == self.version):
            return cached[3]
        items = self._items
        out = np.array([p if (r := items.get(i)) is not None and (p := r.price) is not None
                        else np.nan for i in item_ids], dtype=np.float64)
        if len(self._prices) > 4:  # old serving bundles' id lists
            self._prices.clear()
        self._prices[key] = (item_ids, len(item_ids), self.version, out)
        return out


def _discard(index: dict[str, set[str]], key: str, item_id: str) -> None:
    """Take `item_id` out of `index[key]`, and the key with its last item."""
    members = index.get(key)
    if members is not None:
        members.discard(item_id)
        if not members:
            del index[key]
