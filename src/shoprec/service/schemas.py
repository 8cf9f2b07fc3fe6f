"""Typed request and response bodies (they make the OpenAPI schema) and their validation rules.

Ids are restricted to a safe alphabet so they travel in URLs and logs unescaped; free text
(titles, categories, brands) must be plain text: markup is refused rather than stored, and
everything shown on the web page is escaped anyway.
"""

from __future__ import annotations

import math
import re
import time
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shoprec.data.events import API_EVENT_TYPES
from shoprec.store.records import ITEM_TYPES

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$"
ID_RULE = "1-128 characters: letters, digits and _ . : @ + - (starting with a letter or digit)"
EventType = Literal[API_EVENT_TYPES]  # the one vocabulary: shoprec.data.events
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
ItemType = Literal[ITEM_TYPES]  # product, article, video, ad
Surface = Literal["feed", "search", "similar", "chat", "ad"]
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]")
_FUTURE_SLACK = 86_400


def is_valid_id(value: str) -> bool:
    return re.fullmatch(ID_PATTERN, value) is not None


# Ids in paths and queries follow the same rule as in bodies: a NUL byte, a slash or markup in an
# id is refused with 422 on every endpoint, reads included, before it reaches the database.
UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description=ID_RULE)]
ItemIdPath = Annotated[str, Path(pattern=ID_PATTERN, description=ID_RULE)]
UserIdQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description=ID_RULE)]


MAX_K = 100  # the schema's bound; `max_k` in the settings may lower it (the OpenAPI says which)
CATEGORY_HELP = "only this category, or one level of a category path (any case)"
TYPE_HELP = "only items of this type (a content or ad slot asks for one); untyped items are products"
SURFACE_HELP = ("where the list is shown, for the exposure log: feed (default), chat, or ad "
                "(the default when type=ad; ads are reported apart)")


class ListQuery(BaseModel):
    """How many items and which: the filters every list endpoint takes (`shoprec.service.query`
    reads them with one validation)."""

    model_config = ConfigDict(populate_by_name=True)

    k: int = Field(10, ge=1, le=MAX_K)
    category: str | None = Field(None, max_length=200, description=CATEGORY_HELP)
    brand: str | None = Field(None, max_length=200, description="only this brand (any case)")
    min_price: float | None = Field(None, ge=0, allow_inf_nan=False)
    max_price: float | None = Field(None, ge=0, allow_inf_nan=False)
    exclude: list[str] = Field(default_factory=list, description="item ids never to show "
                                                                   "(repeat it, or join with commas)")
    item_type: ItemType | None = Field(None, alias="type", description=TYPE_HELP)


class RecommendationsQuery(ListQuery):
    explain: bool = Field(False, description="say why each item was chosen (names the shopper's "
                                             "history: needs their token)")
    surface: Surface | None = Field(None, description=SURFACE_HELP)


class SearchQuery(ListQuery):
    q: str = Field(min_length=1, max_length=200, description="what the shopper wants")
    user_id: str | None = Field(None, pattern=ID_PATTERN, description=ID_RULE)


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


class ItemOut(BaseModel):
    item_id: str
    title: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    consumable: bool = False
    type: str = "product"
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)


class RecommendationOut(ItemOut):
    score: float
    reason: str | None = None


class Served(BaseModel):
    """What every served list carries: the id its events may name, and the experiment variant
    that ranked it (null outside an experiment)."""

    request_id: str = Field(description="send it with events on these items (POST /events) to "
                                        "attribute them to this list")
    experiment: str | None = None
    variant: str | None = None


class RecommendationsOut(Served):
    user_id: str
    strategy: Literal["model", "popular", "precomputed"] = Field(
        description="model: ranked from the shopper's history; popular: no usable history yet; "
                    "precomputed: the list `shoprec precompute` stored, still fresh")
    model: str = Field(description="the serving bundle (model@created#data fingerprint/generation)")
    degraded: bool = Field(False, description="the store could not be read: popular items, "
                                              "without the shopper's fresh history")
    items: list[RecommendationOut]


class SearchOut(Served):
    query: str
    items: list[RecommendationOut]


class SimilarOut(Served):
    item_id: str
    items: list[RecommendationOut]


class RetrainQueued(BaseModel):
    job: str = Field(description="poll GET /admin/retrain/{job} for its state")
    state: Literal["queued"]


class RetrainJobOut(BaseModel):
    """A retrain job: champion (the serving model) and challenger scored on the same fresh
    shoppers, and what happened."""

    job: str
    kind: Literal["retrain", "choose"] = Field(
        "retrain", description="retrain: a challenger fitted on the store's events, gated on "
                               "fresh shoppers; choose: auto on the bundle's own data "
                               "(`shoprec serve --choose-minutes`)")
    state: Literal["queued", "running", "swapped", "kept", "failed"]
    reason: str = Field(description="why it swapped, kept the old bundle, or failed")
    champion_metrics: dict[str, float] = Field(default_factory=dict)
    challenger_metrics: dict[str, float] = Field(default_factory=dict)
    generation: int = Field(description="the generation serving after the job (the new one "
                                        "when swapped)")
    seconds: float | None = None
    started: str | None = None
    finished: str | None = None
    traceback: str | None = Field(None, description="a failed job's traceback")
    priority: str | None = Field(None, description="the job process's CPU class: idle (only "
                                                   "what serving leaves) or nice 19")


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


class ChatIn(BaseModel):
    """One message of a conversation; no `conversation_id` starts a new one."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=500, description="what the shopper says, in "
                                                                   "English or Chinese")
    conversation_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                                        description="from the previous answer")
    user_id: str | None = Field(None, pattern=ID_PATTERN, description=ID_RULE)
    k: int = Field(5, ge=1, le=20)
    lang: Literal["en", "zh"] | None = Field(None, description="answer language for a message "
                                                               "with no letters (default: the "
                                                               "shop's)")

    @field_validator("message")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value


class ChatItemOut(RecommendationOut):
    meets: list[str] = Field(description="the request's constraints this item satisfies")
    why: str = Field(description="why it fits the shopper")


class UnmetOut(BaseModel):
    """One thing an answer could not honour, as data (the page and a client can offer `drop`)."""

    constraint: Literal["price", "brand", "category", "exclude"]
    value: str = Field(description="what was asked: the price range, the brand, ...")
    reason: Literal["no_prices", "not_carried", "emptied"] = Field(
        description="no_prices: the shop lists none; not_carried: the shop has no such brand; "
                    "emptied: nothing meets it together with the other constraints")
    text: str = Field(description="the same, in the conversation's language")
    drop: str | None = Field(None, description="the words that let this constraint go")


class ChatOut(Served):
    conversation_id: str
    language: Literal["en", "zh"]
    reply: str
    question: str | None = Field(None, description="a clarifying question, when the request "
                                                   "was too broad to rank well")
    constraints: list[str] = Field(description="everything the answer honours, in words")
    notes: list[str] = Field(description="what could not be honoured, in words")
    unmet: list[UnmetOut] = Field(default_factory=list, description="what could not be "
                                                                    "honoured, as data")
    items: list[ChatItemOut]
    model: str
