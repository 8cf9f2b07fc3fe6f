"""From a shopper's fresh events to ranked, filtered, explained items, on top of `model.score`.

Rules the shop sees: items the shopper owns (purchase, rating, review) or dismissed are not
shown again, unless the catalogue marks them consumable (dismissed ones never); a dismissal
also pushes down the items bought together with the dismissed one; each event counts with its
weight (`shoprec.data.events`, the ones the bundle was trained with); a shopper with no usable
history gets the most popular items; every card can say why it is there. The CLI and the HTTP
service both call `recommend`, so they cannot disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shoprec.data.events import OWNING_EVENTS
from shoprec.data.types import History
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.ranked import Ranked
from shoprec.engine.rules import NO_FILTERS, Filters, allowed_mask, excluded_indices
from shoprec.models.ranking import top_k
from shoprec.store import EventRecord

if TYPE_CHECKING:
    from shoprec.engine.serving import Serving

_VERBS = {"view": "viewed", "click": "looked at", "cart": "put in your cart",
          "purchase": "bought", "rating": "rated", "review": "reviewed", "interaction": "chose"}


@dataclass(frozen=True)
class ShopperState:
    """What the model sees (history of known items, each event at its weight) and what must
    stay hidden or be pushed down."""

    history: History
    hidden: set[int]
    dismissed: set[int]
    last_event: dict[int, str]
    bundle_user: int | None = None  # the shopper's row in the bundle, if trained on them


def shopper_state(serving: Serving, events: Sequence[EventRecord], catalogue: Catalogue
                  ) -> ShopperState:
    weights = serving.bundle.dataset.event_weights
    items, values, times, hidden, dismissed, last_event = [], [], [], set(), set(), {}
    for e in events:
        idx = serving.item_index.get(e.item_id)
        if idx is None:
            continue  # an item the serving model does not know yet (added after training)
        if e.event == "dismiss":
            hidden.add(idx)
            dismissed.add(idx)
            continue
        if e.event in OWNING_EVENTS and not catalogue.is_consumable(e.item_id):
            hidden.add(idx)
        items.append(idx)
        values.append(weights.strength(e.event, e.value))
        times.append(e.timestamp if e.timestamp is not None else 0)
        last_event[idx] = e.event
    history = History(np.asarray(items, dtype=np.int64), np.asarray(values, dtype=np.float32),
                      np.asarray(times, dtype=np.int64))
    bundle_user = serving.bundle.dataset.user_map.get(events[0].user_id) if events else None
    return ShopperState(history, hidden, dismissed, last_event, bundle_user)


def recommend(
    serving: Serving, events: Sequence[EventRecord], catalogue: Catalogue, k: int,
    filters: Filters = NO_FILTERS, explain: bool = False,
) -> tuple[list[Ranked], str]:
    """Top-k items and the strategy used ("model" or "popular"). DataError when a filter asks
    for a field the catalogue lacks."""
    return rank(serving, shopper_state(serving, events, catalogue), catalogue, k, filters, explain)


def needs_model(serving: Serving, state: ShopperState) -> bool:
    """Whether the model scores this shopper (else popularity answers)."""
    return bool(len(state.history)) and serving.bundle.model.name != "popular"


def rank(
    serving: Serving, state: ShopperState, catalogue: Catalogue, k: int,
    filters: Filters = NO_FILTERS, explain: bool = False, raw: np.ndarray | None = None,
) -> tuple[list[Ranked], str]:
    """`recommend` for a shopper state; `raw` is the model's score row when the caller has it
    already (the service scores concurrent requests together), else the model is asked here."""
    popularity = serving.popularity  # taken first: it is the last thing `Serving._grow` grows
    item_ids = serving.item_ids
    n_items = len(popularity)
    allowed = allowed_mask(filters, item_ids, serving.item_index, catalogue)
    scores, strategy = model_scores(serving, state, popularity, raw)
    if allowed is not None:
        allowed = allowed[:n_items]
    banned = {i for i in state.hidden if i < n_items}
    banned |= excluded_indices(filters, serving.item_index, n_items)
    idx, val = top_k(scores, k, allowed=allowed, excluded=sorted(banned))
    chosen = [(i, s) for i, s in zip(idx[0].tolist(), val[0].tolist()) if i >= 0]
    reasons: list[str | None] = [None] * len(chosen)
    if explain and strategy == "model":
        reasons = faithful_reasons(serving, state, [i for i, _ in chosen])
    if explain:
        reasons = [r or explain_item(serving, state, catalogue, i, strategy)
                   for r, (i, _) in zip(reasons, chosen)]
    return [Ranked(item_ids[i], float(s), r) for (i, s), r in zip(chosen, reasons)], strategy


def model_scores(serving: Serving, state: ShopperState, popularity: np.ndarray,
                 raw: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The model's scores for the shopper (`raw`, or asked of the model), ties broken by
    popularity and items bought with a dismissed one pushed down; popularity alone when the
    model has nothing to say."""
    n_items = len(popularity)
    if not needs_model(serving, state):
        return popularity.copy(), "popular"
    if raw is None:
        raw = serving.bundle.model.score([state.history])[0]
    scores = np.asarray(raw, dtype=np.float32)[:n_items]
    finite = scores[np.isfinite(scores)]
    if finite.size == 0 or finite.max() == finite.min():
        return popularity.copy(), "popular"
    scale = float(np.abs(finite).max()) or 1.0
    scores = scores + 1e-4 * scale * popularity / max(popularity.max(), 1)
    penalty = -serving.bundle.dataset.event_weights["dismiss"]
    if state.dismissed and penalty > 0:
        dismissed = sorted(i for i in state.dismissed if i < serving.cooccurrence.shape[0])
        bought_with = serving.cooccurrence[dismissed].max(axis=0).toarray().ravel()[:n_items]
        scores[: len(bought_with)] -= penalty * float(finite.std()) * bought_with
    return scores, "model"


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
        best = bought_with(serving, state, item)
        if best is not None:
            record = catalogue.get(serving.item_ids[best])
            title = record.title if record and record.title else f"item {serving.item_ids[best]}"
            verb = _VERBS.get(state.last_event.get(int(best), ""), "chose")
            return f"Often bought with {title}, which you {verb}"
        return "Picked for you from your history"
    record = catalogue.get(serving.item_ids[item])
    if record and record.category:
        return f"Popular in {record.category}"
    return "Popular with shoppers"


def bought_with(serving: Serving, state: ShopperState, item: int) -> int | None:
    """The shopper's past item bought most often together with `item` (None when none is)."""
    if not len(state.history) or item >= serving.cooccurrence.shape[0]:
        return None
    column = serving.cooccurrence[item].toarray().ravel()  # symmetric: row = column
    past = np.unique(state.history.items)
    past = past[past < len(column)]
    if not len(past):
        return None
    best = int(past[np.argmax(column[past])])
    return best if column[best] > 0 else None


def similar_items(serving: Serving, item_id: str, k: int) -> list[Ranked]:
    """Items bought by the same shoppers (cosine co-occurrence), best first; for an item nobody
    has bought with another yet (one just added to the catalogue), the items whose text vectors
    read most alike (the search index's vectors; none while another thread still encodes the
    catalogue for them: an item page does not wait for the search warm-up)."""
    idx = serving.item_index.get(item_id)
    if idx is None:
        return []
    item_ids = serving.item_ids
    row = serving.cooccurrence[idx] if idx < serving.cooccurrence.shape[0] else None
    if row is None or row.nnz == 0:
        if serving.searcher.building:
            return []
        near, cosines = serving.searcher.neighbours(idx, k, len(item_ids))
        return [Ranked(item_ids[int(i)], float(c), "Described like this one")
                for i, c in zip(near, cosines)]
    order = np.argsort(-row.data, kind="stable")[:k]
    return [Ranked(item_ids[int(row.indices[o])], float(row.data[o]),
                   "Shoppers who bought this also bought") for o in order]
