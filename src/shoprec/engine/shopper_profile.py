"""What the shop knows about one shopper's tastes, the one rule the HTTP profile, the export
and `shoprec profile` share: basics read straight from the events, plus `shoprec.profiles`'
interest tags, price band and activity level over the serving bundle.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from shoprec.data.events import OWNING_EVENTS
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.recommending import shopper_state
from shoprec.store import EventRecord

if TYPE_CHECKING:
    from shoprec.engine.serving import Serving

log = logging.getLogger("shoprec.engine")


def history_basics(catalogue: Catalogue, user_id: str, events: list[EventRecord]
                   ) -> dict[str, Any]:
    """Counts, favourite categories and brands, recent, bought and dismissed items."""
    items = catalogue
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


def interest_profile(serving: Serving, catalogue: Catalogue, user_id: str,
                     events: list[EventRecord], now: int, half_life_days: float | None = None,
                     top_tags: int = 10) -> dict[str, Any] | None:
    """Interest tags, price band and activity as of `now`, from the shopper's events on items
    the bundle was trained on. The serving bundle's own builder (half-life 180 days, built
    once) answers unless `half_life_days` asks for another one; that one is built here and may
    encode a text-only catalogue. None while the serving builder waits for item vectors (the
    search warm-up supplies them)."""
    history = shopper_state(serving, events, catalogue).history
    if half_life_days is None:
        return serving.insight.profile(history, user_id, now, top_tags)
    from shoprec.profiles.bundle_profiles import builder_for_bundle

    bundle = serving.bundle
    builder = builder_for_bundle(bundle, half_life_days, encode=False)
    history = history.select(history.items < bundle.dataset.n_items)  # items added since training
    return builder.build(history, user_id, now).to_json(top_tags=top_tags)


def shopper_profile(serving: Serving, catalogue: Catalogue, user_id: str,
                    events: list[EventRecord], now: int) -> dict[str, Any]:
    """History basics plus the interest profile; the basics stand on their own when the
    interests cannot be had (no tags yet, or their builder failed: logged)."""
    out = history_basics(catalogue, user_id, events)
    try:
        derived = interest_profile(serving, catalogue, user_id, events, now)
    except Exception as exc:  # noqa: BLE001 - the basics stand on their own
        log.warning("profile of %s failed: %s", user_id, exc)
        return out | {"tags": []}
    if derived is None:  # tags need item vectors the service has not read yet (search warm-up)
        return out | {"tags": []}
    derived.pop("user_id", None)
    return out | derived
