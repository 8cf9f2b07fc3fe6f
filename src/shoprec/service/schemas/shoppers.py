"""A shopper's own data: profile, export, deletion, token."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventOut(BaseModel):
    user_id: str
    item_id: str
    event: str
    value: float | None = None
    timestamp: int | None = None
    event_id: str | None = None


class ExportOut(BaseModel):
    user_id: str
    events: list[EventOut] = Field(description="one page of stored events, in arrival order")
    next_cursor: int | None = Field(description="pass as `cursor` for the next page; null on "
                                                "the last")
    profile: dict[str, Any] | None = Field(description="the derived profile (first page only)")


class DeletedOut(BaseModel):
    user_id: str
    deleted_events: int
    removed_from_model: bool = Field(description="the serving bundle held the shopper's "
                                                 "training rows and no longer does")


class TokenOut(BaseModel):
    user_id: str
    token: str = Field(description="send as X-Shopper-Token to read this shopper's own data")


class NamedCount(BaseModel):
    name: str
    count: int


class ItemMention(BaseModel):
    item_id: str
    title: str | None = None


class InterestTag(BaseModel):
    tag: str
    kind: str
    weight: float


class PriceBand(BaseModel):
    band: str
    mean_price: float


class Activity(BaseModel):
    level: str
    events: int
    recent_events: float
    first_seen: int | None = None
    last_seen: int | None = None


class ProfileOut(BaseModel):
    """What the shop knows about a shopper's tastes: basics read from their events and, once the
    serving bundle can build them, interest tags, price band and activity (absent until then)."""

    model_config = ConfigDict(extra="allow")
    user_id: str
    known: bool
    events: int
    by_event: dict[str, int]
    first_seen: int | None
    last_seen: int | None
    top_categories: list[NamedCount]
    top_brands: list[NamedCount]
    recent_items: list[ItemMention]
    bought_items: list[ItemMention]
    dismissed_items: list[ItemMention]
    tags: list[InterestTag]
    as_of: int | None = None
    price_band: PriceBand | None = None
    activity: Activity | None = None
