"""The list endpoints: their query models (recommendations, search) and the ranked items they
answer with, each list carrying the id its events may name and the variant that ranked it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shoprec.service.schemas.ids import ID_PATTERN, ID_RULE, MAX_K, ItemType, Surface

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
