"""Plain records that go in and out of the store (no SQLAlchemy types leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: What a catalogue item may be: the same models rank products, content and ads alike.
ITEM_TYPES = ("product", "article", "video", "ad")


@dataclass(frozen=True)
class ItemRecord:
    """One catalogue item. `consumable` items may be recommended again after a purchase."""

    item_id: str
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    consumable: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def item_type(self) -> str:
        """The catalogue's optional `type` column (kept with the attributes); product when
        absent or not one of ITEM_TYPES."""
        kind = self.attributes.get("type")
        return kind if kind in ITEM_TYPES else "product"

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "title": self.title, "category": self.category,
                "brand": self.brand, "price": self.price, "consumable": self.consumable,
                "attributes": self.attributes, "type": self.item_type}


@dataclass(frozen=True)
class EventRecord:
    """One shopper action on one item; `timestamp` in Unix seconds, `value` for ratings."""

    user_id: str
    item_id: str
    event: str
    value: float | None = None
    timestamp: int | None = None
    event_id: str | None = None  # the client's idempotency id, when it sent one

    def to_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "item_id": self.item_id, "event": self.event,
                "value": self.value, "timestamp": self.timestamp, "event_id": self.event_id}
