"""A shopper's own data: profile, export (everything stored about them), deletion, tokens.

Who may read it is decided in `shoprec.service.access`: the shop's key or the shopper's token.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from shoprec.data.events import OWNING_EVENTS
from shoprec.engine.recommending import shopper_state
from shoprec.service.access import (
    BearerHeader,
    KeyHeader,
    TokenHeader,
    authorize_shopper,
    require_api_key,
)
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import error_responses
from shoprec.service.schemas import DeletedOut, EventOut, ExportOut, TokenOut, UserIdPath
from shoprec.store import EventRecord
from shoprec.store.shopper_keys import issue_version

router = APIRouter(tags=["shoppers"])
Ctx = Annotated[ServiceContext, Depends(get_context)]


def history_profile(ctx: ServiceContext, user_id: str, events: list[EventRecord]
                    ) -> dict[str, Any]:
    """Basics read straight from the events: counts, favourite categories and brands, recent
    and bought items."""
    items = ctx.catalogue
    cats = Counter(items.get(e.item_id).category for e in events
                   if e.event != "dismiss" and items.get(e.item_id) and items.get(e.item_id).category)
    brands = Counter(items.get(e.item_id).brand for e in events
                     if e.event != "dismiss" and items.get(e.item_id) and items.get(e.item_id).brand)
    times = [e.timestamp for e in events if e.timestamp is not None]

    def card(item_id: str) -> dict[str, Any]:
        record = items.get(item_id)
        return {"item_id": item_id, "title": record.title if record else None}

    recent = list(dict.fromkeys(e.item_id for e in reversed(events) if e.event != "dismiss"))
    bought = list(dict.fromkeys(e.item_id for e in reversed(events) if e.event in OWNING_EVENTS))
    return {
        "user_id": user_id,
        "known": bool(events),
        "events": len(events),
        "by_event": dict(Counter(e.event for e in events)),
        "first_seen": min(times) if times else None,
        "last_seen": max(times) if times else None,
        "top_categories": [{"name": c, "count": n} for c, n in cats.most_common(5)],
        "top_brands": [{"name": b, "count": n} for b, n in brands.most_common(5)],
        "recent_items": [card(i) for i in recent[:8]],
        "bought_items": [card(i) for i in bought[:8]],
        "dismissed_items": [card(i) for i in dict.fromkeys(
            e.item_id for e in events if e.event == "dismiss")],
    }


def full_profile(ctx: ServiceContext, user_id: str, events: list[EventRecord]) -> dict[str, Any]:
    """History basics plus `shoprec.profiles`' interest tags, price band and activity level."""
    out = history_profile(ctx, user_id, events)
    serving = ctx.serving
    history = shopper_state(serving, events, ctx.catalogue).history
    try:
        derived = serving.insight.profile(history, user_id, int(time.time()))
    except Exception as exc:  # noqa: BLE001 - the basics stand on their own
        logging.getLogger("shoprec.service").warning("profile of %s failed: %s", user_id, exc)
        return out | {"tags": []}
    if derived is None:  # tags need item vectors the service has not read yet (search warm-up)
        return out | {"tags": []}
    derived.pop("user_id", None)
    return out | derived


def shopper_reader(request: Request, ctx: Ctx, user_id: UserIdPath, x_api_key: KeyHeader = None,
                   authorization: BearerHeader = None, x_shopper_token: TokenHeader = None
                   ) -> None:
    """Dependency: the caller holds this shopper's token or the shop's key."""
    authorize_shopper(request, ctx, user_id, x_api_key, authorization, x_shopper_token)


Reader = [Depends(shopper_reader)]


@router.get("/users/{user_id}/profile", dependencies=Reader,
            responses=error_responses(401, 422, 429, 503))
def profile(ctx: Ctx, user_id: UserIdPath) -> dict[str, Any]:
    """What the shop knows about the shopper's tastes (an empty profile for a new visitor);
    needs the shopper's token or the shop's key."""
    return full_profile(ctx, user_id, ctx.recent_events(user_id))


@router.get("/users/{user_id}/export", response_model=ExportOut, dependencies=Reader,
            responses=error_responses(401, 422, 429, 503))
def export(ctx: Ctx, user_id: UserIdPath,
           cursor: Annotated[int, Query(ge=0, le=2**63 - 1, description="from a previous "
                                                                       "page's next_cursor")] = 0,
           ) -> ExportOut:
    """Everything stored about the shopper, page by page: every event (arrival order) and, on
    the first page, the derived profile; needs the shopper's token or the shop's key."""
    page, next_cursor = ctx.store.export_events(user_id, cursor, ctx.settings.export_page_events)
    derived = full_profile(ctx, user_id, ctx.recent_events(user_id)) if cursor == 0 else None
    return ExportOut(user_id=user_id, events=[EventOut(**e.to_json()) for e in page],
                     next_cursor=next_cursor, profile=derived)


@router.delete("/users/{user_id}", response_model=DeletedOut,
               dependencies=[Depends(require_api_key)],
               responses=error_responses(401, 422, 429, 503))
async def delete_user(ctx: Ctx, user_id: UserIdPath) -> DeletedOut:
    """Forget the shopper at once: their events leave the store (and SQLite's log), their rows
    leave the serving bundle's files and the model's per-shopper state, and popularity and
    "bought together" are recomputed without them. Needs the shop's key."""
    ctx.exposures.forget(user_id)
    removed = await ctx.store_write(ctx.store.delete_user, user_id)
    ctx.forget_exposures_later(user_id)
    in_model = await run_in_threadpool(ctx.forget, user_id)
    return DeletedOut(user_id=user_id, deleted_events=removed, removed_from_model=in_model)


async def token_for(ctx: ServiceContext, user_id: str) -> TokenOut:
    """The shopper's token, signed with their version (made in the store on the first issue)."""
    version = await ctx.store_write(issue_version, ctx.store.engine, user_id)
    return TokenOut(user_id=user_id, token=ctx.settings.shopper_token(user_id, version))


@router.post("/users/{user_id}/token", response_model=TokenOut,
             dependencies=[Depends(require_api_key)],
             responses=error_responses(401, 422, 429, 503))
async def issue_token(ctx: Ctx, user_id: UserIdPath) -> TokenOut:
    """The shop's back end asks for a shopper's token (with its key) and gives it to that
    shopper's page; every issue gives the same token, valid until the shopper is deleted
    (`DELETE /users/{id}`: a token issued after that is a new one) or the key (or
    SHOPREC_TOKEN_SECRET) changes."""
    return await token_for(ctx, user_id)


@router.post("/visitors", response_model=TokenOut, responses=error_responses(429, 503))
async def new_visitor(ctx: Ctx) -> TokenOut:
    """A page without a login gets a fresh random visitor id and its token (the server picks
    the id, so no one can ask for a token to someone else's)."""
    return await token_for(ctx, "visitor-" + secrets.token_hex(8))
