"""Read endpoints for shoppers: recommendations, items, similar items, search.

Lists need no credentials (the shop's pages call them for whoever browses); explanations name
the shopper's own history, so `explain=true` needs the shopper's token or the shop's key. When
the store cannot be read, recommendations fall back to popular items (`degraded: true`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from shoprec.data.errors import DataError
from shoprec.engine.recommending import Ranked, shopper_state, similar_items
from shoprec.service.cards import item_out, ranked_out
from shoprec.service.deps import RecommendationsRequest, Service
from shoprec.service.errors import error_responses
from shoprec.service.list_requests import request_filters, shopper_list
from shoprec.service.query import openapi_parameters, read_query
from shoprec.service.schemas import (
    MAX_K,
    ItemIdPath,
    ItemOut,
    RecommendationsOut,
    RecommendationsQuery,
    SearchOut,
    SearchQuery,
    SimilarOut,
    UserIdPath,
    UserIdQuery,
)
from shoprec.service.variants import new_request_id
from shoprec.service.warming import WARMING_503

router = APIRouter(tags=["shop"])
SHOPPER_HEADERS = {"X-API-Key": "the shop's API key (for explain=true)",
                   "Authorization": "`Bearer <the shop's API key>` (for explain=true)",
                   "X-Shopper-Token": "the shopper's token (for explain=true)"}


@router.get("/recommendations/{user_id}", response_model=RecommendationsOut,
            responses=error_responses(401, 422, 429),
            openapi_extra=openapi_parameters(RecommendationsQuery, SHOPPER_HEADERS))
async def recommendations(ctx: Service, user_id: UserIdPath, query: RecommendationsRequest
                          ) -> RecommendationsOut:
    """Top-k for a shopper from their fresh history; an unknown shopper gets popular items.

    The ranking, a few hundred microseconds of CPU, runs on the event loop: dozens of threads
    taking turns at the GIL answered fewer requests at 32 clients than at 1 (199 against 287
    req/s here, 329 at 32 inline). The model scores the shoppers of concurrent requests together
    (`service.batching`). The store read runs inline too when the store is a local SQLite file
    (WAL: a read never waits for a writer); a database over the network is read in the thread
    pool."""
    started, filters = time.perf_counter(), request_filters(query)
    choice, request_id = ctx.state.pick(user_id), new_request_id()
    surface = query.surface or ("ad" if query.item_type == "ad" else "feed")

    def shown(ranked: Sequence[Ranked], status: int = 200) -> None:
        ctx.telemetry.expose(request_id, user_id, choice, surface, query.item_type, ranked,
                             started, status)

    ranked, strategy, degraded = await shopper_list(ctx, user_id, choice.serving, query, filters,
                                                    on_failure=lambda: shown([], 500))
    shown(ranked)
    return RecommendationsOut(user_id=user_id, strategy=strategy, model=choice.serving.version,
                              degraded=degraded, items=ranked_out(ctx.catalogue, ranked),
                              request_id=request_id, experiment=choice.experiment,
                              variant=choice.variant)


@router.get("/items/{item_id}", response_model=ItemOut, responses=error_responses(404, 422))
async def get_item(ctx: Service, item_id: ItemIdPath) -> ItemOut:
    record = ctx.catalogue.get(item_id)
    if record is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return item_out(record)


@router.get("/items/{item_id}/similar", response_model=SimilarOut,
            responses=error_responses(404, 422))
def get_similar(ctx: Service, item_id: ItemIdPath, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
                user_id: UserIdQuery = None) -> SimilarOut:
    """Items bought by the same shoppers; for an item no one has bought with another yet (one
    just added), the items whose text reads most alike. With `user_id`, the shopper's
    experiment variant answers (and the list is logged for them)."""
    started = time.perf_counter()
    if item_id not in ctx.catalogue:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    choice, request_id = ctx.state.pick(user_id), new_request_id()
    ranked = similar_items(choice.serving, item_id, k)
    ctx.telemetry.expose(request_id, user_id, choice, "similar", None, ranked, started)
    return SimilarOut(item_id=item_id, items=ranked_out(ctx.catalogue, ranked),
                      request_id=request_id, experiment=choice.experiment, variant=choice.variant)


@router.get("/search", response_model=SearchOut, responses=error_responses(422) | WARMING_503,
            openapi_extra=openapi_parameters(SearchQuery))
def search(request: Request, ctx: Service) -> SearchOut:
    """Natural-language search (the language model reads the query), nudged toward the
    shopper's taste when `user_id` has a history (by their experiment variant's model). 503
    with Retry-After while the server's start still builds the search index."""
    started = time.perf_counter()
    query = read_query(SearchQuery, request)
    q, k, user_id = query.q, query.k, query.user_id
    if not q.strip():
        raise HTTPException(422, "q: the query is empty")
    filters = request_filters(query)
    choice, request_id = ctx.state.pick(user_id), new_request_id()
    serving = choice.serving
    ctx.state.require_search(serving)
    history = None
    if user_id:
        events = ctx.gate.recent_events_or_none(user_id)
        history = shopper_state(serving, events or [], ctx.catalogue).history
    try:
        ranked = serving.searcher.search(q, k, serving.item_ids, serving.item_index,
                                         ctx.catalogue, history, filters)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    ctx.telemetry.expose(request_id, user_id, choice, "search", query.item_type, ranked, started)
    return SearchOut(query=q, items=ranked_out(ctx.catalogue, ranked), request_id=request_id,
                     experiment=choice.experiment, variant=choice.variant)
