"""The hard constraints of a conversation as a mask over the items, and what could not be
honoured: a price limit or "cheaper" in a shop without prices, a brand the shop does not carry,
a constraint that left nothing to show (named, with the words that drop it).

Saying so is the point: a shopper who asked for "under 20 dollars" in a shop without prices, or
for Chanel in a shop without Chanel, must not read the list as an answer to that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from shoprec.engine import phrasing
from shoprec.engine.asking import Ask
from shoprec.engine.rules import Filters, allowed_mask

if TYPE_CHECKING:
    from shoprec.engine.catalogue import Catalogue
    from shoprec.engine.conversation import Conversation
    from shoprec.engine.serving import Serving

#: constraints tried, in this order, when a list comes back empty
RELAXABLE = ("brand", "category", "price", "exclude")


@dataclass(frozen=True)
class Unmet:
    """One thing the answer could not honour. `constraint`: price, brand, category or exclude;
    `reason`: no_prices (the shop lists none), not_carried (no such brand here) or
    emptied (nothing meets it together with the rest); `drop`: what to say to let it go."""

    constraint: str
    value: str
    reason: str
    text: str
    drop: str | None = None


def hard_mask(serving: Serving, catalogue: Catalogue, conv: Conversation) -> np.ndarray:
    """Items meeting every hard constraint this shop can check."""
    price_known = catalogue.has_prices()
    filters = Filters(conv.category if catalogue.has_categories() else None,
                      conv.brand if catalogue.has_brands() else None,
                      conv.min_price if price_known else None,
                      conv.max_price if price_known else None)
    n = len(serving.popularity)
    mask = allowed_mask(filters, serving.item_ids, serving.item_index, catalogue)
    mask = np.ones(n, bool) if mask is None else mask[:n].copy()
    if conv.brand and not catalogue.has_brands():
        needed = conv.brand.lower()
        mask &= np.array([needed in t for t in item_texts(serving, catalogue)[:n]])
    words = [w.lower() for w in conv.exclude]
    if words:
        texts = item_texts(serving, catalogue)[:n]
        mask &= np.array([not any(w in t for w in words) for t in texts])
    return mask


def item_texts(serving: Serving, catalogue: Catalogue) -> list[str]:
    """Each item's title, brand and category in lower case (what a refused word is looked for
    in), cached per serving item list and catalogue version."""
    key = (id(serving.item_ids), len(serving.item_ids), catalogue.version)
    cached = getattr(serving, "_chat_texts", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    texts = []
    for item_id in serving.item_ids:
        r = catalogue.get(item_id)
        texts.append(" | ".join(x for x in (r.title, r.brand, r.category) if x).lower() if r else "")
    serving._chat_texts = (key, texts)  # type: ignore[attr-defined]
    return texts


def unmet_before(conv: Conversation, ask: Ask, catalogue: Catalogue) -> list[Unmet]:
    """What this turn asks that the shop cannot check or does not carry."""
    lang, out = conv.language, []
    if not catalogue.has_prices():
        if conv.min_price is not None or conv.max_price is not None:
            value = phrasing.price_range(lang, conv.min_price, conv.max_price)
            out.append(Unmet("price", value, "no_prices", phrasing.no_prices(lang),
                             phrasing.drop_words(lang, "price")))
        if ask.cheaper or ask.pricier:
            value = "cheaper" if ask.cheaper else "pricier"
            out.append(Unmet("price", value, "no_prices", phrasing.no_prices_compare(lang,
                                                                                     ask.cheaper)))
    if ask.unknown_brand:
        out.append(Unmet("brand", ask.unknown_brand, "not_carried",
                         phrasing.not_carried(lang, ask.unknown_brand)))
    return out


def why_empty(serving: Serving, catalogue: Catalogue, conv: Conversation,
              banned: set[int]) -> list[Unmet]:
    """For an empty answer: each constraint whose removal alone would leave something to
    show, with the words that drop it; when none does alone, every constraint in force."""
    lang = conv.language
    active = [c for c in RELAXABLE if _holds(conv, c)]
    found = []
    for constraint in active:
        mask = hard_mask(serving, catalogue, _without(conv, constraint))
        mask[sorted(i for i in banned if i < len(mask))] = False
        if mask.any():
            value = _value(conv, constraint)
            found.append(Unmet(constraint, value, "emptied",
                               phrasing.emptied(lang, constraint, value),
                               phrasing.drop_words(lang, constraint)))
    if found:
        return found
    return [Unmet(c, _value(conv, c), "emptied", phrasing.emptied(lang, c, _value(conv, c)),
                  phrasing.drop_words(lang, c)) for c in active]


def _holds(conv: Conversation, constraint: str) -> bool:
    return {"brand": conv.brand is not None, "category": conv.category is not None,
            "price": conv.min_price is not None or conv.max_price is not None,
            "exclude": bool(conv.exclude)}[constraint]


def _without(conv: Conversation, constraint: str) -> Conversation:
    changes: dict[str, object] = {
        "brand": {"brand": None}, "category": {"category": None},
        "price": {"min_price": None, "max_price": None}, "exclude": {"exclude": []}}[constraint]
    return replace(conv, **changes)  # type: ignore[arg-type]


def _value(conv: Conversation, constraint: str) -> str:
    if constraint == "brand":
        return conv.brand or ""
    if constraint == "category":
        return conv.category or ""
    if constraint == "price":
        return phrasing.price_range(conv.language, conv.min_price, conv.max_price)
    return ", ".join(conv.exclude)
