"""What the list routes do between reading the request and shaping the answer: the engine's
filters from the query, and a shopper's list: the precomputed one when it is fresh, else ranked
by the model (scored through the batcher, so concurrent requests' shoppers share one model
call) from their recent events, or popular items while the store cannot be read."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException

from shoprec.data.errors import DataError
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.recommending import Ranked, needs_model, rank, shopper_state
from shoprec.engine.rules import Filters
from shoprec.engine.serving import Serving
from shoprec.service.batching import ScoreBatcher
from shoprec.service.context import ServiceContext
from shoprec.service.schemas import ListQuery, RecommendationsQuery
from shoprec.store import EventRecord


def request_filters(query: ListQuery) -> Filters:
    """The engine's filters from the query (`exclude` may repeat or hold commas)."""
    try:
        return Filters(query.category, query.brand, query.min_price, query.max_price,
                       tuple(x for part in query.exclude for x in part.split(",") if x),
                       query.item_type)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None


async def ranked_for_shopper(serving: Serving, catalogue: Catalogue, batcher: ScoreBatcher,
                             events: list[EventRecord], query: RecommendationsQuery,
                             filters: Filters, on_failure: Callable[[], None]
                             ) -> tuple[list[Ranked], str]:
    """The shopper's top-k and its strategy ("model" or "popular"); 422 for a request the
    engine refuses, `on_failure()` before any other error goes on (the list is logged failed)."""
    try:
        state = shopper_state(serving, events, catalogue)
        raw = await batcher.score(serving, state.history) if needs_model(serving, state) else None
        return rank(serving, state, catalogue, query.k, filters, query.explain, raw)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    except Exception:
        on_failure()
        raise


async def shopper_list(ctx: ServiceContext, user_id: str, serving: Serving,
                       query: RecommendationsQuery, filters: Filters,
                       on_failure: Callable[[], None]) -> tuple[list[Ranked], str, bool]:
    """The shopper's list, its strategy, and whether it is degraded (the store was unreadable:
    popular items without their fresh history)."""
    gate = ctx.gate
    if ctx.settings.serve_precomputed and not (query.explain or filters.narrows or filters.exclude):
        stored = await gate.read(gate.precomputed, user_id, serving, query.k)
        if stored is not None:
            return stored, "precomputed", False
    events = await gate.read(gate.recent_events_or_none, user_id)
    ranked, strategy = await ranked_for_shopper(serving, ctx.catalogue, ctx.telemetry.batcher,
                                                events or [], query, filters, on_failure)
    ctx.telemetry.metrics.recommendations.labels(strategy).inc()
    return ranked, strategy, events is None
