"""Per-shopper token versions: what makes a deleted shopper's tokens stop working.

A shopper token is an HMAC of the id and a random version kept here (one row per shopper that
was ever issued a token). The first token issued makes the row; later ones reuse it, so a token
stays valid until the shopper is deleted (`Store.delete_user` deletes the row with the rest of
their data). A token for an id with no row is refused, and a shopper deleted and issued a token
again gets a new version, so none of their old tokens come back.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from shoprec.store.schema import shopper_keys


def token_version(engine: Engine, user_id: str) -> str | None:
    """The shopper's current version, or None when no token was issued (or they were deleted)."""
    with engine.connect() as conn:
        return conn.execute(select(shopper_keys.c.version)
                            .where(shopper_keys.c.user_id == user_id)).scalar()


def issue_versions(engine: Engine, user_ids: Iterable[str]) -> dict[str, str]:
    """The version of each shopper, made (random) for those without one; safe when several
    processes issue the same shopper's first token at once (the first insert wins, every caller
    reads that one)."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return {}
    found = _versions(engine, wanted)
    missing = [u for u in wanted if u not in found]
    if missing:
        rows = [{"user_id": u, "version": secrets.token_hex(16), "issued_at": time.time()}
                for u in missing]
        insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)
        with engine.begin() as conn:
            conn.execute(insert(shopper_keys).on_conflict_do_nothing(), rows)
        found |= _versions(engine, missing)
    return found


def issue_version(engine: Engine, user_id: str) -> str:
    """The version of one shopper, made when they have none (see `issue_versions`)."""
    return issue_versions(engine, [user_id])[user_id]


def forget_version(conn: Connection, user_id: str) -> int:
    """Delete the shopper's version inside the caller's transaction (the shopper's deletion)."""
    return conn.execute(delete(shopper_keys).where(shopper_keys.c.user_id == user_id)).rowcount


def _versions(engine: Engine, user_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for lo in range(0, len(user_ids), 500):
            query = select(shopper_keys.c.user_id, shopper_keys.c.version).where(
                shopper_keys.c.user_id.in_(user_ids[lo:lo + 500]))
            out.update({u: v for u, v in conn.execute(query)})
    return out
