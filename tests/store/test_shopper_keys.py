"""Per-shopper token versions on SQLite and PostgreSQL: made once, shared by every issuer,
deleted with the shopper (so a token issued after the deletion is a new one)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from shoprec.store import EventRecord, ItemRecord, Store
from shoprec.store.schema import shopper_keys
from shoprec.store.shopper_keys import issue_version, issue_versions, token_version


def rows_of(store: Store, user_id: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(shopper_keys)
                            .where(shopper_keys.c.user_id == user_id)).scalar_one()


def test_a_version_is_made_once_and_read_after(store: Store) -> None:
    assert token_version(store.engine, "k1") is None  # never issued: no token can match
    first = issue_version(store.engine, "k1")
    assert len(first) == 32 and issue_version(store.engine, "k1") == first
    assert token_version(store.engine, "k1") == first
    many = issue_versions(store.engine, ["k1", "k2", "k3", "k2"])
    assert many["k1"] == first and len(set(many.values())) == 3 and rows_of(store, "k2") == 1


def test_issuers_racing_for_a_first_token_all_get_the_same_version(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: issue_version(store.engine, "racer"), range(16)))
    assert len(set(got)) == 1 and rows_of(store, "racer") == 1


def test_deleting_a_shopper_deletes_their_version(store: Store) -> None:
    store.upsert_items([ItemRecord("a")])
    store.add_events([EventRecord("gone-1", "a", "view", None, 1)])
    old = issue_version(store.engine, "gone-1")
    kept = issue_version(store.engine, "kept-1")
    store.delete_user("gone-1")
    assert rows_of(store, "gone-1") == 0 and token_version(store.engine, "gone-1") is None
    assert token_version(store.engine, "kept-1") == kept
    assert issue_version(store.engine, "gone-1") != old
    issue_version(store.engine, "tokens-only")  # a shopper with a token and no events
    store.delete_user("tokens-only")
    assert rows_of(store, "tokens-only") == 0
