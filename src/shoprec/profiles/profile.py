"""A shopper's profile: interest tags with time-decayed weights, price band, activity, interest vector.

Every event counts 1, multiplied by 0.5 ** (age / half-life) where age is measured from the
profile's `as_of` time. Because the decay is exponential, a profile keeps its sums *as of* one time
and moving to a later time multiplies them all by one factor: that is what makes `update` exact
(building from the first events and updating with the rest equals building from all of them).

Use from the service or a batch job:

    builder = ProfileBuilder(half_life_days=180).fit(dataset, item_vectors=vectors, tags=tags)
    profiles = builder.build_all(dataset)                 # every shopper, vectorised
    p = builder.build(history, user_id="A1")              # one shopper (History of item indices)
    p = builder.update(p, new_events)                     # incremental, new events only
    p.to_json()                                            # what GET /users/{id}/profile returns

`build_profile(history, catalogue, item_vectors, now)` does the same for a one-off call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from shoprec.data.dataset import Dataset
from shoprec.data.types import History
from shoprec.profiles.tags import ItemTags, item_tags

DAY = 86400.0
PRICE_BANDS = ("budget", "mid-range", "upper mid-range", "premium")


@dataclass
class Profile:
    """Sums as of `as_of` (Unix seconds); derived views are computed by the builder/`to_json`."""

    user_id: str
    as_of: int
    n_events: int
    first_seen: int
    last_seen: int
    tag_mass: dict[str, float]  # decayed weight per tag
    event_mass: float  # decayed number of events ("recent events")
    price_mass: float = 0.0  # decayed sum of prices of priced items
    price_weight: float = 0.0  # decayed number of priced events
    interest_sum: np.ndarray | None = None  # decayed sum of item vectors
    tag_kinds: dict[str, str] = field(default_factory=dict)
    price_band: str | None = None
    activity_level: str = "new"

    def tags(self, top: int = 10) -> list[tuple[str, float]]:
        """(tag, share of the shopper's decayed interest) best first; shares of all tags sum to 1."""
        total = sum(self.tag_mass.values())
        ranked = sorted(self.tag_mass.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [(t, m / total) for t, m in ranked] if total > 0 else []

    @property
    def mean_price(self) -> float | None:
        return self.price_mass / self.price_weight if self.price_weight > 0 else None

    @property
    def interest_vector(self) -> np.ndarray | None:
        """L2-normalised direction of the shopper's decayed item vectors (None without vectors)."""
        if self.interest_sum is None:
            return None
        norm = float(np.linalg.norm(self.interest_sum))
        return self.interest_sum / norm if norm > 0 else self.interest_sum

    def to_json(self, top_tags: int = 10, include_vector: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "user_id": self.user_id,
            "as_of": self.as_of,
            "tags": [{"tag": t, "kind": self.tag_kinds.get(t, "tag"), "weight": round(w, 6)}
                     for t, w in self.tags(top_tags)],
            "price_band": None if self.price_band is None else
            {"band": self.price_band, "mean_price": round(self.mean_price or 0.0, 2)},
            "activity": {"level": self.activity_level, "events": self.n_events,
                         "recent_events": round(self.event_mass, 4),
                         "first_seen": self.first_seen, "last_seen": self.last_seen},
        }
        if include_vector and self.interest_vector is not None:
            out["interest_vector"] = [round(float(x), 6) for x in self.interest_vector]
        return out


@dataclass(frozen=True)
class ActivityScale:
    """Levels by events per 30 days over the shopper's active span, and dormancy by last event."""

    occasional_below: float = 1.0
    frequent_from: float = 4.0
    dormant_after_days: float = 365.0

    def level(self, n_events: int, first: int, last: int, as_of: int) -> str:
        if n_events < 3:
            return "new"
        if (as_of - last) / DAY > self.dormant_after_days:
            return "dormant"
        rate = n_events / max((last - first) / DAY, 30.0) * 30.0
        if rate < self.occasional_below:
            return "occasional"
        return "frequent" if rate >= self.frequent_from else "regular"


class ProfileBuilder:
    """Builds and updates profiles over one catalogue (scikit-learn style: `fit` learns the
    catalogue's tags, price quartiles and the population's activity scale)."""

    def __init__(self, half_life_days: float = 180.0, top_tags: int = 10) -> None:
        self.half_life_days = half_life_days
        self.top_tags = top_tags

    def fit(self, data: Dataset | pl.DataFrame, item_vectors: np.ndarray | None = None,
            tags: ItemTags | None = None) -> Self:
        items = data.items if isinstance(data, Dataset) else data
        if item_vectors is not None and len(item_vectors) != items.height:
            raise ValueError(f"item_vectors has {len(item_vectors)} rows for {items.height} items")
        self.n_items_ = items.height
        self.tags_ = tags if tags is not None else item_tags(items, item_vectors)
        self.tag_kinds_ = self.tags_.kind_of()
        self.vectors_ = None if item_vectors is None else np.asarray(item_vectors, np.float32)
        self.prices_ = _prices(items)
        priced = self.prices_[np.isfinite(self.prices_)]
        self.price_cuts_ = np.quantile(priced, [0.25, 0.5, 0.75]) if len(priced) else None
        self.activity_ = _activity_scale(data) if isinstance(data, Dataset) else ActivityScale()
        return self

    def _decay(self, timestamps: np.ndarray, as_of: int) -> np.ndarray:
        age_days = (as_of - timestamps.astype(np.float64)) / DAY
        return np.power(0.5, age_days / self.half_life_days)

    def build(self, history: History, user_id: str = "", now: int | None = None) -> Profile:
        """Profile of one shopper as of `now` (default: their last event)."""
        items = np.asarray(history.items, dtype=np.int64)
        ts = _timestamps(history)
        as_of = int(now if now is not None else (ts.max() if len(ts) else 0))
        empty = Profile(user_id, as_of, 0, 0, 0, {}, 0.0, tag_kinds=self.tag_kinds_,
                        interest_sum=None if self.vectors_ is None else
                        np.zeros(self.vectors_.shape[1], np.float64))
        return self._add(empty, items, ts) if len(items) else self._finish(empty)

    def update(self, profile: Profile, new: History, now: int | None = None) -> Profile:
        """`profile` with the events of `new` added (events only, not the whole history again)."""
        items = np.asarray(new.items, dtype=np.int64)
        ts = _timestamps(new)
        as_of = max(profile.as_of, int(ts.max()) if len(ts) else profile.as_of)
        as_of = int(now) if now is not None and now > as_of else as_of
        moved = self._move(profile, as_of)
        return self._add(moved, items, ts) if len(items) else self._finish(moved)

    def _move(self, p: Profile, as_of: int) -> Profile:
        f = float(self._decay(np.array([p.as_of]), as_of)[0])
        return replace(p, as_of=as_of, tag_mass={t: m * f for t, m in p.tag_mass.items()},
                       event_mass=p.event_mass * f, price_mass=p.price_mass * f,
                       price_weight=p.price_weight * f,
                       interest_sum=None if p.interest_sum is None else p.interest_sum * f)

    def _add(self, p: Profile, items: np.ndarray, ts: np.ndarray) -> Profile:
        if items.min() < 0 or items.max() >= self.n_items_:
            raise ValueError(f"history has item indices outside 0..{self.n_items_ - 1}")
        w = self._decay(ts, p.as_of)
        tag_mass = dict(p.tag_mass)
        per_tag = np.asarray(self.tags_.matrix[items].T @ w).ravel()
        for t in np.flatnonzero(per_tag):
            name = self.tags_.names[t]
            tag_mass[name] = tag_mass.get(name, 0.0) + float(per_tag[t])
        price = self.prices_[items]
        has = np.isfinite(price)
        first = int(ts.min()) if p.n_events == 0 else min(p.first_seen, int(ts.min()))
        added = replace(
            p, n_events=p.n_events + len(items), first_seen=first,
            last_seen=max(p.last_seen, int(ts.max())), tag_mass=tag_mass,
            event_mass=p.event_mass + float(w.sum()),
            price_mass=p.price_mass + float((w[has] * price[has]).sum()),
            price_weight=p.price_weight + float(w[has].sum()),
            interest_sum=None if p.interest_sum is None or self.vectors_ is None
            else p.interest_sum + w @ self.vectors_[items],
        )
        return self._finish(added)

    def _finish(self, p: Profile) -> Profile:
        band = None
        if self.price_cuts_ is not None and p.mean_price is not None:
            band = PRICE_BANDS[int(np.searchsorted(self.price_cuts_, p.mean_price, side="right"))]
        level = self.activity_.level(p.n_events, p.first_seen, p.last_seen, p.as_of)
        return replace(p, price_band=band, activity_level=level, tag_kinds=self.tag_kinds_)

    def build_all(self, data: Dataset, now: int | None = None) -> dict[str, Profile]:
        """Every shopper of `data`, as of `now` (default: the last event in the data)."""
        frame = data.interactions
        ts_all = frame["timestamp"].fill_null(0).to_numpy()
        as_of = int(now if now is not None else (ts_all.max() if len(ts_all) else 0))
        users, items = frame["user"].to_numpy(), frame["item"].to_numpy().astype(np.int64)
        w = self._decay(ts_all, as_of)
        weights = sp.csr_matrix((w, (users, items)), shape=(data.n_users, self.n_items_))
        tag_mass = sp.csr_matrix(weights @ self.tags_.matrix)
        vec = None if self.vectors_ is None else weights @ self.vectors_.astype(np.float64)
        price = np.nan_to_num(self.prices_, nan=0.0)
        has = np.isfinite(self.prices_).astype(np.float64)
        price_mass, price_weight = weights @ price, weights @ has
        event_mass = np.asarray(weights.sum(axis=1)).ravel()
        bounds = np.searchsorted(users, np.arange(data.n_users + 1))
        out = {}
        for u, uid in enumerate(data.user_map.ids):
            row = tag_mass.getrow(u)
            t = ts_all[bounds[u]:bounds[u + 1]]
            p = Profile(uid, as_of, len(t), int(t.min()), int(t.max()),
                        {self.tags_.names[j]: float(m) for j, m in zip(row.indices, row.data)},
                        float(event_mass[u]), float(price_mass[u]), float(price_weight[u]),
                        None if vec is None else vec[u])
            out[uid] = self._finish(p)
        return out


def build_profile(history: History, catalogue: pl.DataFrame, item_vectors: np.ndarray | None = None,
                  now: int | None = None, user_id: str = "", half_life_days: float = 180.0,
                  tags: ItemTags | None = None) -> Profile:
    """One shopper's profile without keeping a builder (the builder is cheaper for many calls)."""
    builder = ProfileBuilder(half_life_days).fit(catalogue, item_vectors, tags)
    return builder.build(history, user_id, now)


def _timestamps(history: History) -> np.ndarray:
    if history.timestamps is None:
        return np.zeros(len(history.items), dtype=np.int64)
    return np.asarray(history.timestamps, dtype=np.int64)


def _prices(items: pl.DataFrame) -> np.ndarray:
    if "price" not in items.columns or not items["price"].dtype.is_numeric():
        return np.full(items.height, np.nan)
    return items["price"].cast(pl.Float64).fill_null(np.nan).to_numpy()


def _activity_scale(data: Dataset) -> ActivityScale:
    """Occasional below the median events-per-30-days, frequent from the 90th percentile."""
    frame = data.interactions
    if frame.height == 0 or not data.has_timestamps:
        return ActivityScale()
    per_user = frame.group_by("user").agg(n=pl.len(), first=pl.col("timestamp").min(),
                                          last=pl.col("timestamp").max()).filter(pl.col("n") >= 3)
    if per_user.height == 0:
        return ActivityScale()
    span = np.maximum((per_user["last"] - per_user["first"]).to_numpy() / DAY, 30.0)
    rate = per_user["n"].to_numpy() / span * 30.0
    return ActivityScale(float(np.quantile(rate, 0.5)), float(np.quantile(rate, 0.9)))
