"""Read endpoints for shoppers: recommendations, items, similar items, search (no key needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from shoprec.service.cards import item_out, ranked_out
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.recommending import recommend, shopper_state, similar_items
from shoprec.service.schemas import ItemOut, RecommendationsOut, SearchOut, SimilarOut

router = APIRouter(tags=["shop"])
Ctx = Annotated[ServiceContext, Depends(get_context)]
ItemId = Annotated[str, Path(max_length=256)]


@router.get("/recommendations/{user_id}", response_model=RecommendationsOut)
def recommendations(
    ctx: Ctx,
    user_id: Annotated[str, Path(max_length=256)],
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
    category: Annotated[str | None, Query(max_length=200)] = None,
    exclude: Annotated[list[str], Query(description="item ids never to show")] = [],  # noqa: B006
    explain: bool = False,
) -> RecommendationsOut:
    """Top-k for a shopper from their fresh history; an unknown shopper gets popular items."""
    if k > ctx.settings.max_k:
        raise HTTPException(422, f"k={k} is above the limit of {ctx.settings.max_k}")
    serving = ctx.serving
    events = ctx.store.user_events(user_id)
    excluded = [x for part in exclude for x in part.split(",") if x]
    ranked, strategy = recommend(serving, events, ctx.catalogue, k, category, excluded, explain)
    ctx.metrics.recommendations.labels(strategy).inc()
    return RecommendationsOut(user_id=user_id, strategy=strategy, model=serving.version,
                              items=ranked_out(ctx.catalogue, ranked))


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(ctx: Ctx, item_id: ItemId) -> ItemOut:
    record = ctx.catalogue.get(item_id)
    if record is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return item_out(record)


@router.get("/items/{item_id}/similar", response_model=SimilarOut)
def get_similar(ctx: Ctx, item_id: ItemId, k: Annotated[int, Query(ge=1, le=100)] = 10
                ) -> SimilarOut:
    """Items bought by the same shoppers; empty for an item no one has bought yet."""
    if item_id not in ctx.catalogue:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    ranked = similar_items(ctx.serving, item_id, k)
    return SimilarOut(item_id=item_id, items=ranked_out(ctx.catalogue, ranked))


@router.get("/search", response_model=SearchOut)
def search(
    ctx: Ctx,
    q: Annotated[str, Query(min_length=1, max_length=200, description="what the shopper wants")],
    user_id: Annotated[str | None, Query(max_length=256)] = None,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    category: Annotated[str | None, Query(max_length=200)] = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
) -> SearchOut:
    """Natural-language search (the language model reads the query), nudged toward the
    shopper's taste when `user_id` has a history."""
    if not q.strip():
        raise HTTPException(422, "q: the query is empty")
    serving = ctx.serving
    history = None
    if user_id:
        history = shopper_state(serving, ctx.store.user_events(user_id), ctx.catalogue).history
    ranked = serving.searcher.search(q, k, serving.item_ids, ctx.catalogue, history, category,
                                     min_price, max_price)
    return SearchOut(query=q, items=ranked_out(ctx.catalogue, ranked))
