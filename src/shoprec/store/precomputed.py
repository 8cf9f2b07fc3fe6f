"""Precomputed recommendations in the store: written in bulk by `shoprec precompute`, read one
shopper at a time by whoever answers requests, and stale once the shopper has newer events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from shoprec.store.schema import events, precomputed
from shoprec.store.store import Store

_CHUNK = 5000


@dataclass(frozen=True)
class Precomputed:
    """One shopper's precomputed list: item ids best first, their scores, for which bundle."""

    user_id: str
    items: list[str]
    scores: list[float]
    version: str
    computed_at: float


def write_precomputed(store: Store, rows: Iterable[tuple[str, Sequence[str], Sequence[float]]],
                      version: str) -> int:
    """Replace the lists of the given shoppers (one transaction per chunk of 5,000)."""
    now = time.time()
    count, chunk = 0, []
    for user_id, items, scores in rows:
        chunk.append({"user_id": user_id, "items": json.dumps(list(items)),
                      "scores": json.dumps([round(float(s), 6) for s in scores]),
                      "version": version, "computed_at": now})
        if len(chunk) >= _CHUNK:
            count += _flush(store, chunk)
            chunk = []
    return count + _flush(store, chunk)


def _flush(store: Store, chunk: list[dict]) -> int:
    if not chunk:
        return 0
    with store.engine.begin() as conn:
        conn.execute(delete(precomputed).where(
            precomputed.c.user_id.in_([r["user_id"] for r in chunk])))
        conn.execute(precomputed.insert(), chunk)
    return len(chunk)


def read_precomputed(store: Store, user_id: str) -> Precomputed | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(precomputed).where(precomputed.c.user_id == user_id)).first()
    return _from_row(row)


def fresh_precomputed(store: Store, user_id: str, version: str) -> Precomputed | None:
    """The shopper's list when it was computed for bundle `version` and no event of theirs
    arrived since (one query); None otherwise, and the model answers instead."""
    newer = select(events.c.id).where(events.c.user_id == user_id,
                                      events.c.received_at > precomputed.c.computed_at)
    query = select(precomputed).where(precomputed.c.user_id == user_id,
                                      precomputed.c.version == version, ~newer.exists())
    with store.engine.connect() as conn:
        return _from_row(conn.execute(query).first())


def _from_row(row: Any) -> Precomputed | None:
    if row is None:
        return None
    return Precomputed(row.user_id, json.loads(row.items), json.loads(row.scores), row.version,
                       row.computed_at)


def stale_shoppers(store: Store) -> list[str]:
    """Shoppers whose events arrived after their list was computed (or who have none yet):
    the ones a refresh recomputes."""
    newest = (select(events.c.user_id, func.max(events.c.received_at).label("last"))
              .group_by(events.c.user_id).subquery())
    query = (select(newest.c.user_id).select_from(newest.outerjoin(
        precomputed, precomputed.c.user_id == newest.c.user_id))
        .where((precomputed.c.computed_at.is_(None)) | (newest.c.last > precomputed.c.computed_at)))
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(query)]
