"""From a shopper's fresh events to ranked, filtered, explained items, on top of `model.score`.

Rules the shop sees: items the shopper bought (purchase, rating, review) or dismissed are not
shown again, unless the catalogue marks them consumable (dismissed ones never); a shopper with
no usable history gets the most popular items; every card can say why it is there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shoprec.engine.catalogue import Catalogue
from shoprec.models.base import History
from shoprec.models.ranking import top_k
from shoprec.store import EventRecord

if TYPE_CHECKING:
    from shoprec.engine.serving import Serving

#: Events that mean the shopper has the item (hidden afterwards unless consumable).
OWNING_EVENTS = frozenset({"purchase", "rating", "review", "interaction"})
_VERBS = {"view": "viewed", "click": "looked at", "cart": "put in your cart",
          "purchase": "bought", "rating": "rated", "review": "reviewed", "interaction": "chose"}


@dataclass(frozen=True)
class Ranked:
    item_id: str
    score: float
    reason: str | None


@dataclass(frozen=True)
class ShopperState:
    """What the model sees (history of known items) and what must stay hidden."""

    history: History
    hidden: set[int]
    last_event: dict[int, str]
    bundle_user: int | None = None  # the shopper's row in the bundle, if trained on them


def shopper_state(serving: Serving, events: Sequence[EventRecord], catalogue: Catalogue
                  ) -> ShopperState:
    items, values, times, hidden, last_event = [], [], [], set(), {}
    for e in events:
        idx = serving.item_index.get(e.item_id)
        if idx is None:
            continue  # an item the serving model does not know yet (added after training)
        if e.event == "dismiss":
            hidden.add(idx)
            continue
        if e.event in OWNING_EVENTS and not catalogue.is_consumable(e.item_id):
            hidden.add(idx)
        items.append(idx)
        values.append(e.value if e.value is not None else 1.0)
        times.append(e.timestamp if e.timestamp is not None else 0)
        last_event[idx] = e.event
    history = History(np.asarray(items, dtype=np.int64), np.asarray(values, dtype=np.float32),
                      np.asarray(times, dtype=np.int64))
    bundle_user = serving.bundle.dataset.user_map.get(events[0].user_id) if events else None
    return ShopperState(history, hidden, last_event, bundle_user)


def recommend(
    serving: Serving, events: Sequence[EventRecord], catalogue: Catalogue, k: int,
    category: str | None = None, exclude: Sequence[str] = (), explain: bool = False,
) -> tuple[list[Ranked], str]:
    """Top-k items and the strategy used ("model" or "popular")."""
    popularity = serving.popularity  # taken first: it is the last thing `add_catalogue_items` grows
    n_items = len(popularity)
    state = shopper_state(serving, events, catalogue)
    if len(state.history) and serving.bundle.model.name != "popular":
        scores = np.asarray(serving.bundle.model.score([state.history]), dtype=np.float32)[0]
        scores = scores[:n_items]
        strategy = "model"
        finite = scores[np.isfinite(scores)]
        if finite.size == 0 or finite.max() == finite.min():
            scores, strategy = popularity.copy(), "popular"
        else:  # popularity only breaks ties between equal model scores
            scale = float(np.abs(finite).max()) or 1.0
            scores = scores + 1e-4 * scale * popularity / max(popularity.max(), 1)
    else:
        scores, strategy = popularity.copy(), "popular"
    allowed = None
    if category:
        allowed = np.zeros(n_items, dtype=bool)
        members = [serving.item_index[i] for i in catalogue.in_category(category)
                   if serving.item_index.get(i, n_items) < n_items]
        allowed[members] = True
    banned = {i for i in state.hidden if i < n_items}
    banned.update(serving.item_index[i] for i in exclude
                  if serving.item_index.get(i, n_items) < n_items)
    idx, val = top_k(scores, k, allowed=allowed, excluded=sorted(banned))
    chosen = [(i, s) for i, s in zip(idx[0].tolist(), val[0].tolist()) if i >= 0]
    reasons: list[str | None] = [None] * len(chosen)
    if explain and strategy == "model":
        reasons = faithful_reasons(serving, state, [i for i, _ in chosen])
    if explain:
        reasons = [r or explain_item(serving, state, catalogue, i, strategy)
                   for r, (i, _) in zip(reasons, chosen)]
    return [Ranked(serving.item_ids[i], float(s), r) for (i, s), r in zip(chosen, reasons)], strategy


def faithful_reasons(serving: Serving, state: ShopperState, items: list[int]) -> list[str | None]:
    """`shoprec.profiles` reasons (the history item that adds most to the model's score, a
    matching interest); None where they have nothing, or when they fail. The shopper is left
    out of their own "shoppers like you"."""
    try:
        return serving.insight.reasons(state.history, items, exclude_user=state.bundle_user)
    except Exception as exc:  # noqa: BLE001 - reasons are optional, recommendations are not
        logging.getLogger("shoprec.service").warning("explanations failed: %s", exc)
        return [None] * len(items)


def explain_item(serving: Serving, state: ShopperState, catalogue: Catalogue, item: int,
                 strategy: str) -> str:
    """The shopper's past item that co-occurs most with `item`, else the fallback's reason."""
    if strategy == "model" and len(state.history):
        column = serving.cooccurrence[item].toarray().ravel()  # symmetric: row = column
        past = np.unique(state.history.items)
        best = past[np.argmax(column[past])]
        if column[best] > 0:
            record = catalogue.get(serving.item_ids[best])
            title = record.title if record and record.title else f"item {serving.item_ids[best]}"
            verb = _VERBS.get(state.last_event.get(int(best), ""), "chose")
            return f"Often bought with {title}, which you {verb}"
        return "Picked for you from your history"
    record = catalogue.get(serving.item_ids[item])
    if record and record.category:
        return f"Popular in {record.category}"
    return "Popular with shoppers"


def similar_items(serving: Serving, item_id: str, k: int) -> list[Ranked]:
    """Items bought by the same shoppers (cosine co-occurrence), best first."""
    idx = serving.item_index.get(item_id)
    if idx is None:
        return []
    row = serving.cooccurrence[idx]
    order = np.argsort(-row.data, kind="stable")[:k]
    return [Ranked(serving.item_ids[int(row.indices[o])], float(row.data[o]),
                   "Shoppers who bought this also bought") for o in order]
