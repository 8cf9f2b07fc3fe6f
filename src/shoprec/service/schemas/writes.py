"""Bodies of the write endpoints (events, catalogue items) and their acknowledgements.

Free text (titles, categories, brands) must be plain text: markup is refused rather than stored,
and everything shown on the web page is escaped anyway.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shoprec.service.schemas.ids import ID_PATTERN, ID_RULE, REQUEST_ID_PATTERN, EventType, ItemType

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]")
_FUTURE_SLACK = 86_400


class EventIn(BaseModel):
    """One shopper action. `value` is required for `rating` (0-10) and not allowed otherwise;
    `timestamp` (whole Unix seconds) defaults to the time the server receives it. Types are
    strict: `false` is not a timestamp nor a rating, `"5"` not a number (a client that sends
    them has a bug its shop should hear about, not a 0 stored in a shopper's history)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str = Field(pattern=ID_PATTERN, description=ID_RULE)
    item_id: str = Field(pattern=ID_PATTERN, description=ID_RULE)
    event: EventType
    value: float | None = None
    timestamp: int | None = Field(None, ge=0)
    event_id: str | None = Field(
        None, pattern=ID_PATTERN, description="the client's own id for this event, unique per "
        "shopper: a retried request carrying the same id is stored once (" + ID_RULE + ")")
    request_id: str | None = Field(
        None, pattern=REQUEST_ID_PATTERN, description="the `request_id` of the list the item was "
        "shown in: attributes this event to that list (and its experiment variant)")
    position: int | None = Field(None, ge=1, le=1000, description="the item's place in that list "
                                                                  "(1 = first); found from the "
                                                                  "list when omitted")

    @model_validator(mode="after")
    def _check(self) -> EventIn:
        if self.event == "rating":
            if self.value is None or not math.isfinite(self.value) or not 0 <= self.value <= 10:
                raise ValueError("a rating needs a value between 0 and 10")
        elif self.value is not None:
            raise ValueError(f"value is only allowed for rating events, not {self.event!r}")
        if self.timestamp is not None and self.timestamp > time.time() + _FUTURE_SLACK:
            raise ValueError("timestamp lies more than a day in the future")
        if self.position is not None and self.request_id is None:
            raise ValueError("position needs the request_id of the list it refers to")
        return self


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    events: list[EventIn] = Field(min_length=1)


class EventsAck(BaseModel):
    stored: int = Field(description="events durably committed by this request")
    duplicates: int = Field(0, description="events whose event_id was already stored (a retry)")
    attributed: int = Field(0, description="events recorded as outcomes of the served list "
                                           "their request_id names")


class ItemIn(BaseModel):
    """A catalogue item to insert or update (matched by item_id)."""

    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(pattern=ID_PATTERN, description=ID_RULE)
    title: str | None = Field(None, max_length=1000)
    category: str | None = Field(None, max_length=200)
    brand: str | None = Field(None, max_length=200)
    price: float | None = Field(None, ge=0)
    consumable: bool = False
    type: ItemType | None = Field(None, description="product (default), article, video or ad")
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=50)

    @field_validator("title", "category", "brand")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _MARKUP.search(value):
            raise ValueError("must be plain text; HTML markup is not accepted")
        if any(ord(c) < 32 and c not in "\t" for c in value):
            raise ValueError("must not contain control characters")
        return value.strip() or None

    @field_validator("price")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("price must be a finite number")
        return value

    @field_validator("attributes")
    @classmethod
    def _finite_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, v in value.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"attribute {key!r} must be a finite number")
            if isinstance(v, str) and (len(v) > 1000 or "\x00" in v):
                raise ValueError(f"attribute {key!r} must be text of at most 1000 characters "
                                 "without NUL")
        return value


class ItemBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemIn] = Field(min_length=1)


class ItemsAck(BaseModel):
    stored: int
    recommendable: list[str] = Field(description="ids the serving model can rank right now")
    pending: list[str] = Field(description="ids that become recommendable at the next retrain")
