"""Write endpoints: shopper events (the shopper's token or the shop's key: the shop's pages
send them) and catalogue upserts (the key). Both take JSON only (415 otherwise).

A request is validated whole before anything is written, then stored in one transaction and
acknowledged only after the commit: a rejected batch leaves no trace, an acknowledged one is
on disk.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from shoprec.service.context import ServiceContext
from shoprec.service.deps import EventsRequest, Service, ShopKey
from shoprec.service.errors import error_responses
from shoprec.service.json_body import body_schema, parse_many, read_json
from shoprec.service.schemas import EventIn, EventsAck, ItemBatch, ItemIn, ItemsAck
from shoprec.store import EventRecord, ItemRecord
from shoprec.store.experiment_tables import OutcomeRow, add_outcomes

router = APIRouter(tags=["write"])


@router.post("/events", response_model=EventsAck, openapi_extra=body_schema("EventIn", "EventBatch"),
             responses=error_responses(400, 401, 413, 415, 422, 429, 503))
async def post_events(ctx: Service, events: EventsRequest) -> EventsAck:
    """Store one event or a batch (`{"events": [...]}`), all or nothing. A shopper's events
    need their token (`X-Shopper-Token`, as the shop's page sends it) or the shop's key; a
    batch naming several shoppers needs the key. Events that carry an `event_id` already stored
    are acknowledged as duplicates and not stored again. Events that carry the `request_id` of
    a served list (and optionally the item's `position` in it) are also recorded as that list's
    outcomes: clicks, carts and purchases per variant."""
    known = await run_in_threadpool(ctx.store.known_item_ids, {e.item_id for e in events})
    for n, e in enumerate(events):
        if e.item_id not in known:
            raise HTTPException(422, f"events.{n}.item_id: unknown item {e.item_id!r}; "
                                     "add it with POST /items first")
    records = [EventRecord(e.user_id, e.item_id, e.event, e.value,
                           e.timestamp if e.timestamp is not None else _now(), e.event_id)
               for e in events]
    stored = await ctx.gate.write(ctx.store.add_events, records)
    attributed = await record_outcomes(ctx, events)
    for e in events:
        ctx.telemetry.metrics.events.labels(e.event).inc()
    return EventsAck(stored=stored, duplicates=len(records) - stored, attributed=attributed)


async def record_outcomes(ctx: ServiceContext, events: list[EventIn]) -> int:
    """Events naming a served list's `request_id` become that list's outcomes; how many."""
    attributed = [OutcomeRow(e.request_id, e.user_id, e.item_id, e.event, e.position,
                             _price(ctx, e.item_id), time.time())
                  for e in events if e.request_id is not None]
    if attributed:
        await ctx.gate.write(add_outcomes, ctx.store.engine, attributed)
    return len(attributed)


def _price(ctx: ServiceContext, item_id: str) -> float | None:
    record = ctx.catalogue.get(item_id)
    return record.price if record is not None else None


@router.post("/items", response_model=ItemsAck, dependencies=[ShopKey],
             openapi_extra=body_schema("ItemIn", "ItemBatch"),
             responses=error_responses(400, 401, 413, 415, 422, 429, 503))
async def post_items(request: Request, ctx: Service) -> ItemsAck:
    """Insert or update catalogue items (one, or `{"items": [...]}`); needs the API key."""
    payload = await read_json(request, ctx.settings.max_json_depth)
    items: list[ItemIn] = parse_many(payload, "items", ItemIn, ItemBatch)
    records = [ItemRecord(i.item_id, i.title, i.category, i.brand, i.price, i.consumable,
                          dict(i.attributes) | ({"type": i.type} if i.type else {}))
               for i in items]
    stored = await ctx.gate.write(ctx.store.upsert_items, records)
    ctx.catalogue.update(records)
    serving = ctx.serving
    await run_in_threadpool(ctx.state.add_to_model, serving, records)
    ctx.state.refresh_gauges()
    ready = [r.item_id for r in records if r.item_id in serving.item_index]
    return ItemsAck(stored=stored, recommendable=ready,
                    pending=[r.item_id for r in records if r.item_id not in serving.item_index])


def _now() -> int:
    return int(time.time())
