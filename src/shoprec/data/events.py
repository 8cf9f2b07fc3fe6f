"""The one vocabulary of shopper events, and how strongly each says "I want this".

Every stage reads events through this module: the file readers check event names against it,
the API accepts the subset a shop's page sends, training turns events into interaction
strengths with `EventWeights`, and serving applies the same weights (a bundle records the ones
it was trained with). A purchase or a cart counts more than a click, a click more than a view;
a dismissal is negative feedback: it is never trained on, it hides the item, and it pushes
down what shoppers buy together with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

import polars as pl

#: Every event name shoprec understands (files may use all of them).
EVENT_TYPES = ("view", "click", "cart", "purchase", "rating", "review", "interaction", "dismiss")
#: What a shop's page posts to the API (reviews and bare interactions come from files).
API_EVENT_TYPES = ("view", "click", "cart", "purchase", "rating", "dismiss")
#: Events that mean the shopper has the item: hidden afterwards unless it is consumable.
OWNING_EVENTS = frozenset({"purchase", "rating", "review", "interaction"})
#: Events that carry a number of their own (a rating's stars); the weight then multiplies it.
VALUED_EVENTS = frozenset({"rating", "review", "interaction"})

_DEFAULTS = {"view": 1.0, "click": 1.5, "cart": 2.5, "purchase": 3.0, "rating": 1.0,
             "review": 1.0, "interaction": 1.0, "dismiss": -1.0}


@dataclass(frozen=True)
class EventWeights:
    """Interaction strength per event type. Positive events must keep the order
    purchase >= cart >= click >= view > 0; `dismiss` must be <= 0 (its size is how hard items
    bought with a dismissed one are pushed down at serving time)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULTS))

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"event weights: unknown event types {sorted(unknown)}; "
                             f"known: {', '.join(EVENT_TYPES)}")
        full = {**_DEFAULTS, **{k: float(v) for k, v in self.weights.items()}}
        order = ("view", "click", "cart", "purchase")
        if full["view"] <= 0 or any(full[a] > full[b] for a, b in pairwise(order)):
            raise ValueError("event weights: need 0 < view <= click <= cart <= purchase, got "
                             + ", ".join(f"{k}={full[k]:g}" for k in order))
        if full["dismiss"] > 0:
            raise ValueError(f"event weights: dismiss is negative feedback (<= 0), got "
                             f"{full['dismiss']:g}")
        object.__setattr__(self, "weights", MappingProxyType(full))

    def __getitem__(self, event: str) -> float:
        return self.weights.get(event, 1.0)

    def to_json(self) -> dict[str, float]:
        return dict(self.weights)

    @classmethod
    def parse(cls, text: str) -> EventWeights:
        """From `purchase=4,cart=2` (the CLI's form); unnamed events keep their defaults."""
        pairs = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            try:
                pairs[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"event weights: {part!r} is not name=number") from None
            if not sep:
                raise ValueError(f"event weights: {part!r} is not name=number")
        return cls(pairs)

    def strength(self, event: str, value: float | None) -> float:
        """One event's strength: its weight, times its own value for rated events."""
        w = self[event]
        return w * value if value is not None and event in VALUED_EVENTS else w

    def strength_expr(self) -> pl.Expr:
        """`strength` as a polars expression over the `event` and `value` columns."""
        weight = pl.col("event").replace_strict(dict(self.weights), default=1.0,
                                                return_dtype=pl.Float32)
        rated = pl.col("event").is_in(list(VALUED_EVENTS)) & pl.col("value").is_not_null()
        return pl.when(rated).then(weight * pl.col("value")).otherwise(weight).cast(pl.Float32)


DEFAULT_WEIGHTS = EventWeights()
