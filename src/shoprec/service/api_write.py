"""Write endpoints: shopper events (the shopper's token or the shop's key: the shop's pages
send them) and catalogue upserts (the key). Both take JSON only (415 otherwise).

A request is validated whole before anything is written, then stored in one transaction and
acknowledged only after the commit: a rejected batch leaves no trace, an acknowledged one is
on disk.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from shoprec.service.access import (
    BearerHeader,
    KeyHeader,
    TokenHeader,
    authorize_events,
    require_api_key,
)
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import describe_validation, error_responses
from shoprec.service.schemas import EventBatch, EventIn, EventsAck, ItemBatch, ItemIn, ItemsAck
from shoprec.store import EventRecord, ItemRecord
from shoprec.store.exposures import OutcomeRow, add_outcomes

router = APIRouter(tags=["write"])
Ctx = Annotated[ServiceContext, Depends(get_context)]


async def read_json(request: Request, max_depth: int) -> Any:
    """The request body as JSON: 415 unless sent as `application/json` (a browser form or a
    `text/plain` post from another site is not an API call); 400 when not JSON, when it holds
    NaN or Infinity, or when nested deeper than `max_depth`. Its size is capped before this on
    every route (`shoprec.service.body_limit`: 413)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, f"{request.method} {request.url.path} takes a JSON body sent "
                                 f"as Content-Type: application/json, not "
                                 f"{media_type or 'no Content-Type'!r}")
    body = await request.body()
    depth = json_depth(body)
    if depth > max_depth:
        raise HTTPException(400, f"JSON nested {depth} levels deep; at most {max_depth} accepted")
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise HTTPException(400, f"malformed JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a number")
    return value


_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(body: bytes) -> int:
    """Deepest bracket nesting outside strings, found before parsing (so a 2 KB body nested a
    thousand deep is refused instead of recursing in the parser or the validator)."""
    depth = deepest = 0
    for token in _BRACKETS.findall(body):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def parse_many(payload: Any, key: str, one: type[BaseModel], many: type[BaseModel]) -> list:
    """One object, a list of objects, or {key: [...]}: all become a list; 422 naming the field."""
    try:
        if isinstance(payload, list):
            payload = {key: payload}
        if isinstance(payload, dict) and key in payload:
            return list(getattr(many.model_validate(payload), key))
        if isinstance(payload, dict):
            return [one.model_validate(payload)]
    except ValidationError as exc:
        raise HTTPException(422, describe_validation(exc.errors())) from None
    raise HTTPException(422, f"expected a JSON object or a list of objects, got {type(payload).__name__}")


def body_schema(one: str, many: str) -> dict[str, Any]:
    """The request body in the OpenAPI document: one object, a batch, or a bare list (the
    components are added by `shoprec.service.openapi`)."""
    ref = {"$ref": f"#/components/schemas/{one}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [ref, {"$ref": f"#/components/schemas/{many}"},
                  {"type": "array", "items": ref, "minItems": 1}]}}}}}


@router.post("/events", response_model=EventsAck, openapi_extra=body_schema("EventIn", "EventBatch"),
             responses=error_responses(400, 401, 413, 415, 422, 429, 503))
async def post_events(request: Request, ctx: Ctx, x_shopper_token: TokenHeader = None,
                      x_api_key: KeyHeader = None, authorization: BearerHeader = None
                      ) -> EventsAck:
    """Store one event or a batch (`{"events": [...]}`), all or nothing. A shopper's events
    need their token (`X-Shopper-Token`, as the shop's page sends it) or the shop's key; a
    batch naming several shoppers needs the key. Events that carry an `event_id` already stored
    are acknowledged as duplicates and not stored again. Events that carry the `request_id` of
    a served list (and optionally the item's `position` in it) are also recorded as that list's
    outcomes: clicks, carts and purchases per variant."""
    payload = await read_json(request, ctx.settings.max_json_depth)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        size = len(payload["events"])
    else:
        size = len(payload) if isinstance(payload, list) else 1
    if size > ctx.settings.max_batch_events:
        raise HTTPException(413, f"batch of {size} events is over the limit of "
                                 f"{ctx.settings.max_batch_events} per request; split it")
    events: list[EventIn] = parse_many(payload, "events", EventIn, EventBatch)
    await authorize_events(request, ctx, {e.user_id for e in events}, x_api_key, authorization,
                           x_shopper_token)
    known = await run_in_threadpool(ctx.store.known_item_ids, {e.item_id for e in events})
    for n, e in enumerate(events):
        if e.item_id not in known:
            raise HTTPException(422, f"events.{n}.item_id: unknown item {e.item_id!r}; "
                                     "add it with POST /items first")
    records = [EventRecord(e.user_id, e.item_id, e.event, e.value,
                           e.timestamp if e.timestamp is not None else _now(), e.event_id)
               for e in events]
    stored = await ctx.store_write(ctx.store.add_events, records)
    attributed = [OutcomeRow(e.request_id, e.user_id, e.item_id, e.event, e.position,
                             _price(ctx, e.item_id), time.time())
                  for e in events if e.request_id is not None]
    if attributed:
        await ctx.store_write(add_outcomes, ctx.store.engine, attributed)
    for e in events:
        ctx.metrics.events.labels(e.event).inc()
    return EventsAck(stored=stored, duplicates=len(records) - stored, attributed=len(attributed))


def _price(ctx: ServiceContext, item_id: str) -> float | None:
    record = ctx.catalogue.get(item_id)
    return record.price if record is not None else None


@router.post("/items", response_model=ItemsAck, dependencies=[Depends(require_api_key)],
             openapi_extra=body_schema("ItemIn", "ItemBatch"),
             responses=error_responses(400, 401, 413, 415, 422, 429, 503))
async def post_items(request: Request, ctx: Ctx) -> ItemsAck:
    """Insert or update catalogue items (one, or `{"items": [...]}`); needs the API key."""
    payload = await read_json(request, ctx.settings.max_json_depth)
    items: list[ItemIn] = parse_many(payload, "items", ItemIn, ItemBatch)
    records = [ItemRecord(i.item_id, i.title, i.category, i.brand, i.price, i.consumable,
                          dict(i.attributes) | ({"type": i.type} if i.type else {}))
               for i in items]
    stored = await ctx.store_write(ctx.store.upsert_items, records)
    ctx.catalogue.update(records)
    serving = ctx.serving
    await run_in_threadpool(ctx.add_to_model, serving, records)
    ctx.refresh_gauges()
    ready = [r.item_id for r in records if r.item_id in serving.item_index]
    return ItemsAck(stored=stored, recommendable=ready,
                    pending=[r.item_id for r in records if r.item_id not in serving.item_index])


def _now() -> int:
    return int(time.time())
