"""Read endpoints for shoppers: recommendations, items, similar items, search.

Lists need no credentials (the shop's pages call them for whoever browses); explanations name
the shopper's own history, so `explain=true` needs the shopper's token or the shop's key. When
the store cannot be read, recommendations fall back to popular items (`degraded: true`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from shoprec.data.errors import DataError
from shoprec.distributed.precompute import bundle_version
from shoprec.engine.recommending import Ranked, needs_model, rank, shopper_state, similar_items
from shoprec.engine.rules import Filters
from shoprec.engine.serving import Serving
from shoprec.service.access import authorize_shopper_async
from shoprec.service.cards import item_out, ranked_out
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import error_responses, is_outage, outage_reason
from shoprec.service.exposing import expose
from shoprec.service.query import openapi_parameters, read_query
from shoprec.service.schemas import (
    MAX_K,
    ItemIdPath,
    ItemOut,
    ListQuery,
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
from shoprec.store import EventRecord
from shoprec.store.precomputed import fresh_precomputed

router = APIRouter(tags=["shop"])
Ctx = Annotated[ServiceContext, Depends(get_context)]
SHOPPER_HEADERS = {"X-API-Key": "the shop's API key (for explain=true)",
                   "Authorization": "`Bearer <the shop's API key>` (for explain=true)",
                   "X-Shopper-Token": "the shopper's token (for explain=true)"}
log = logging.getLogger("shoprec.service")
T = TypeVar("T")


def request_filters(query: ListQuery) -> Filters:
    """The engine's filters from the query (`exclude` may repeat or hold commas)."""
    try:
        return Filters(query.category, query.brand, query.min_price, query.max_price,
                       tuple(x for part in query.exclude for x in part.split(",") if x),
                       query.item_type)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None


def precomputed_list(ctx: ServiceContext, user_id: str, serving: Serving, k: int
                     ) -> list[Ranked] | None:
    """The shopper's precomputed top-k when it is fresh and long enough; None otherwise (or when
    the store cannot say: the model answers then)."""
    try:
        found = fresh_precomputed(ctx.store, user_id, bundle_version(serving.bundle.manifest))
    except Exception as exc:
        if not is_outage(exc):
            raise
        return None
    if found is None or len(found.items) < k:
        return None
    return [Ranked(i, float(s), None) for i, s in zip(found.items[:k], found.scores[:k])]


async def from_store(ctx: ServiceContext, read: Callable[..., T], *args: Any) -> T:
    """`read(*args)` inline when the store is a local file, else in the thread pool (a database
    over the network must not hold the event loop while it answers)."""
    if ctx.store.local:
        return read(*args)
    return await run_in_threadpool(read, *args)


def recent_events(ctx: ServiceContext, user_id: str) -> list[EventRecord] | None:
    """The shopper's most recent events, or None when the store cannot be read."""
    try:
        return ctx.recent_events(user_id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("store unreadable, serving popular items: %s", outage_reason(exc))
        return None


@router.get("/recommendations/{user_id}", response_model=RecommendationsOut,
            responses=error_responses(401, 422, 429),
            openapi_extra=openapi_parameters(RecommendationsQuery, SHOPPER_HEADERS))
async def recommendations(request: Request, ctx: Ctx, user_id: UserIdPath) -> RecommendationsOut:
    """Top-k for a shopper from their fresh history; an unknown shopper gets popular items.

    The ranking, a few hundred microseconds of CPU, runs on the event loop: dozens of threads
    taking turns at the GIL answered fewer requests at 32 clients than at 1 (199 against 287
    req/s here, 329 at 32 inline). The model scores the shoppers of concurrent requests together
    (`service.batching`). The store read runs inline too when the store is a local SQLite file
    (WAL: a read never waits for a writer); a database over the network is read in the thread
    pool."""
    started = time.perf_counter()
    query = read_query(RecommendationsQuery, request)
    k, explain, item_type = query.k, query.explain, query.item_type
    if k > ctx.settings.max_k:
        raise HTTPException(422, f"k={k} is above the limit of {ctx.settings.max_k}")
    if explain:
        headers = request.headers
        await authorize_shopper_async(request, ctx, user_id, headers.get("x-api-key"),
                                      headers.get("authorization"),
                                      headers.get("x-shopper-token"))
    filters = request_filters(query)
    choice = ctx.pick(user_id)
    serving, request_id = choice.serving, new_request_id()
    surface = query.surface or ("ad" if item_type == "ad" else "feed")
    stored = None
    if ctx.settings.serve_precomputed and not (explain or filters.narrows or filters.exclude):
        stored = await from_store(ctx, precomputed_list, ctx, user_id, serving, k)
    if stored is not None:
        expose(ctx, request_id, user_id, choice, surface, item_type, stored, started)
        return RecommendationsOut(user_id=user_id, strategy="precomputed", model=serving.version,
                                  items=ranked_out(ctx.catalogue, stored), request_id=request_id,
                                  experiment=choice.experiment, variant=choice.variant)
    events = await from_store(ctx, recent_events, ctx, user_id)
    try:
        state = shopper_state(serving, events or [], ctx.catalogue)
        raw = await ctx.batcher.score(serving, state.history) if needs_model(serving, state) else None
        ranked, strategy = rank(serving, state, ctx.catalogue, k, filters, explain, raw)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    except Exception:
        expose(ctx, request_id, user_id, choice, surface, item_type, [], started, 500)
        raise
    ctx.metrics.recommendations.labels(strategy).inc()
    expose(ctx, request_id, user_id, choice, surface, item_type, ranked, started)
    return RecommendationsOut(user_id=user_id, strategy=strategy, model=serving.version,
                              degraded=events is None, items=ranked_out(ctx.catalogue, ranked),
                              request_id=request_id, experiment=choice.experiment,
                              variant=choice.variant)


@router.get("/items/{item_id}", response_model=ItemOut, responses=error_responses(404, 422))
async def get_item(ctx: Ctx, item_id: ItemIdPath) -> ItemOut:
    record = ctx.catalogue.get(item_id)
    if record is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    return item_out(record)


@router.get("/items/{item_id}/similar", response_model=SimilarOut,
            responses=error_responses(404, 422))
def get_similar(ctx: Ctx, item_id: ItemIdPath, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
                user_id: UserIdQuery = None) -> SimilarOut:
    """Items bought by the same shoppers; for an item no one has bought with another yet (one
    just added), the items whose text reads most alike. With `user_id`, the shopper's
    experiment variant answers (and the list is logged for them)."""
    started = time.perf_counter()
    if item_id not in ctx.catalogue:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    choice, request_id = ctx.pick(user_id), new_request_id()
    ranked = similar_items(choice.serving, item_id, k)
    expose(ctx, request_id, user_id, choice, "similar", None, ranked, started)
    return SimilarOut(item_id=item_id, items=ranked_out(ctx.catalogue, ranked),
                      request_id=request_id, experiment=choice.experiment, variant=choice.variant)


@router.get("/search", response_model=SearchOut, responses=error_responses(422) | WARMING_503,
            openapi_extra=openapi_parameters(SearchQuery))
def search(request: Request, ctx: Ctx) -> SearchOut:
    """Natural-language search (the language model reads the query), nudged toward the
    shopper's taste when `user_id` has a history (by their experiment variant's model). 503
    with Retry-After while the server's start still builds the search index."""
    started = time.perf_counter()
    query = read_query(SearchQuery, request)
    q, k, user_id = query.q, query.k, query.user_id
    if not q.strip():
        raise HTTPException(422, "q: the query is empty")
    filters = request_filters(query)
    choice, request_id = ctx.pick(user_id), new_request_id()
    serving = choice.serving
    ctx.require_search(serving)
    history = None
    if user_id:
        events = recent_events(ctx, user_id)
        history = shopper_state(serving, events or [], ctx.catalogue).history
    try:
        ranked = serving.searcher.search(q, k, serving.item_ids, serving.item_index,
                                         ctx.catalogue, history, filters)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    expose(ctx, request_id, user_id, choice, "search", query.item_type, ranked, started)
    return SearchOut(query=q, items=ranked_out(ctx.catalogue, ranked), request_id=request_id,
                     experiment=choice.experiment, variant=choice.variant)
