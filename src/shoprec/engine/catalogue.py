"""The catalogue held in memory for fast card rendering and filters, kept in step with the store.

It is loaded from the store at start and updated by `POST /items` after the store commits, so
a card never shows an item the store does not hold.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from shoprec.store import ItemRecord, Store


class Catalogue:
    def __init__(self, records: Iterable[ItemRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ItemRecord] = {}
        self._by_category: dict[str, set[str]] = {}
        self.update(records)

    @classmethod
    def from_store(cls, store: Store) -> Catalogue:
        return cls(store.all_items())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> ItemRecord | None:
        return self._items.get(item_id)

    def update(self, records: Iterable[ItemRecord]) -> None:
        with self._lock:
            for r in records:
                old = self._items.get(r.item_id)
                if old is not None and old.category:
                    self._by_category.get(old.category.lower(), set()).discard(r.item_id)
                self._items[r.item_id] = r
                if r.category:
                    self._by_category.setdefault(r.category.lower(), set()).add(r.item_id)

    def in_category(self, category: str) -> set[str]:
        """Item ids whose category equals `category`, ignoring case."""
        return set(self._by_category.get(category.lower(), set()))

    def categories(self) -> list[str]:
        return sorted({r.category for r in self._items.values() if r.category})

    def is_consumable(self, item_id: str) -> bool:
        item = self._items.get(item_id)
        return bool(item and item.consumable)

    def ids(self) -> list[str]:
        return list(self._items)
