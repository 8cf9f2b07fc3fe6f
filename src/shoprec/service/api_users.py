"""A shopper's own data: profile, export (everything stored about them) and deletion."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import require_api_key
from shoprec.service.recommending import OWNING_EVENTS, shopper_state
from shoprec.store import EventRecord

router = APIRouter(tags=["shoppers"])
Ctx = Annotated[ServiceContext, Depends(get_context)]
UserId = Annotated[str, Path(max_length=256)]


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


@router.get("/users/{user_id}/profile")
def profile(ctx: Ctx, user_id: UserId) -> dict[str, Any]:
    """What the shop knows about the shopper's tastes (an empty profile for a new visitor)."""
    return full_profile(ctx, user_id, ctx.store.user_events(user_id))


@router.get("/users/{user_id}/export")
def export(ctx: Ctx, user_id: UserId) -> dict[str, Any]:
    """Everything stored about the shopper: every event and the derived profile."""
    events = ctx.store.user_events(user_id)
    return {"user_id": user_id, "events": [e.to_json() for e in events],
            "profile": full_profile(ctx, user_id, events)}


@router.delete("/users/{user_id}", dependencies=[Depends(require_api_key)])
def delete_user(ctx: Ctx, user_id: UserId) -> dict[str, Any]:
    """Remove the shopper's events (and so their profile) from the store; the service keeps no
    other copy. The bundle's training files still hold their old interactions until the next
    retrain, which rebuilds from the store."""
    removed = ctx.store.delete_user(user_id)
    return {"user_id": user_id, "deleted_events": removed}
