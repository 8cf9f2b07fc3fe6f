"""The store on SQLite and on a real PostgreSQL: catalogue upserts, events, seeding, deletion."""

from __future__ import annotations

import re

import polars as pl
import pytest
import sqlalchemy as sa

from shoprec.data.dataset import Dataset
from shoprec.data.errors import DataError
from shoprec.store import EventRecord, ItemRecord, Store


def test_upsert_keeps_position_and_updates_fields(store: Store) -> None:
    store.upsert_items([ItemRecord("a", "Alpha"), ItemRecord("b", "Beta", price=3.5)])
    store.upsert_items([ItemRecord("a", "Alpha v2", category="Skin", consumable=True),
                        ItemRecord("c", "Gamma", attributes={"asin": "B00X"})])
    frame = store.items_frame()
    assert frame["item_id"].to_list() == ["a", "b", "c"]
    assert frame["title"].to_list() == ["Alpha v2", "Beta", "Gamma"]
    assert frame["asin"].to_list() == [None, None, "B00X"]
    assert store.get_item("a") == ItemRecord("a", "Alpha v2", category="Skin", consumable=True)
    assert store.get_item("zzz") is None
    assert store.known_item_ids(["a", "zzz", "c"]) == {"a", "c"}


def test_events_round_trip_in_time_order(store: Store) -> None:
    store.upsert_items([ItemRecord("a"), ItemRecord("b")])
    stored = store.add_events([EventRecord("u1", "b", "view", None, 200),
                               EventRecord("u1", "a", "rating", 4.0, 100),
                               EventRecord("u2", "a", "purchase", None, 150)])
    assert stored == 3
    assert [(e.item_id, e.event, e.value) for e in store.user_events("u1")] == [
        ("a", "rating", 4.0), ("b", "view", None)]
    frame = store.events_frame()
    assert frame.columns == ["user_id", "item_id", "timestamp", "event", "value"]
    assert frame.height == 3 and store.count_events("u2") == 1


def test_text_with_sql_and_markup_is_stored_verbatim(store: Store) -> None:
    title = "Robert'); DROP TABLE items;-- <b>bold</b> \u2603"
    store.upsert_items([ItemRecord("x", title)])
    store.add_events([EventRecord("o'brien; --", "x", "view", None, 1)])
    assert store.get_item("x").title == title
    assert store.count_items() == 1 and store.count_events("o'brien; --") == 1


def _not_null_message(store: Store, table: str, column: str) -> str:
    """The backend's own words for a missing required value (the store passes them on)."""
    if store.engine.dialect.name == "postgresql":
        return f'null value in column "{column}" of relation "{table}" violates not-null constraint'
    return f"NOT NULL constraint failed: {table}.{column}"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("user_id", None, "event 2: user_id must be text of 1-256 characters without NUL, got None"),
    ("item_id", None, "event 2: item_id must be text of 1-256 characters"),
    ("event", None, "event 2: event must be text of 1-16 characters"),
    ("user_id", "u" * 300, "event 2: user_id must be text of 1-256 characters"),
    ("event", "a-very-long-event", "event 2: event must be text of 1-16 characters"),
    ("user_id", "nul\x00id", "event 2: user_id must be text of 1-256 characters without NUL"),
    ("timestamp", "abc", "event 2: timestamp must be whole Unix seconds, got 'abc'"),
])
def test_a_batch_with_a_bad_field_fails_whole(store: Store, field: str, value: object,
                                              message: str) -> None:
    """A missing or out-of-range field is refused with one message naming the event and the
    field, the same on SQLite (which would store it) and PostgreSQL, and the good events before
    it in the same batch are not stored either."""
    store.upsert_items([ItemRecord("a")])
    fields = {"user_id": "u", "item_id": "a", "event": "view", "timestamp": 3, field: value}
    bad = [EventRecord("u", "a", "view", None, 1), EventRecord("u", "a", "view", None, 2),
           EventRecord(**fields, value=None)]
    with pytest.raises(DataError, match=re.escape(message)):
        store.add_events(bad)
    assert store.count_events() == 0 and store.user_events("u") == []
    assert store.add_events(bad[:2]) == 2  # the store is still usable afterwards
    assert store.count_events("u") == 2


def test_an_item_without_an_id_fails_the_whole_upsert(store: Store) -> None:
    store.upsert_items([ItemRecord("a", "Alpha")])
    with pytest.raises(sa.exc.IntegrityError,
                       match=re.escape(_not_null_message(store, "items", "item_id"))):
        nameless = ItemRecord(None, "Nameless")  # type: ignore[arg-type]
        store.upsert_items([ItemRecord("b", "Beta"), nameless])
    assert store.items_frame()["item_id"].to_list() == ["a"]
    assert store.get_item("a") == ItemRecord("a", "Alpha")


def test_delete_user_removes_only_their_events(store: Store) -> None:
    store.upsert_items([ItemRecord("a")])
    store.add_events([EventRecord("u1", "a", "view", None, 1), EventRecord("u2", "a", "view", None, 2)])
    assert store.delete_user("u1") == 1
    assert store.user_events("u1") == [] and store.count_events() == 1


def test_delete_user_removes_their_conversations_and_precomputed_lists(store: Store) -> None:
    from shoprec.store.precomputed import read_precomputed, write_precomputed

    store.save_conversation("c" * 32, "u1", {"text": "鼠标"})
    store.save_conversation("d" * 32, "u2", {"text": "mouse"})
    write_precomputed(store, [("u1", ["a", "b"], [2.0, 1.0]), ("u2", ["b"], [1.0])], "v1")
    store.delete_user("u1")
    assert store.load_conversation("c" * 32) is None and read_precomputed(store, "u1") is None
    assert store.load_conversation("d" * 32) == ("u2", {"text": "mouse"})
    assert read_precomputed(store, "u2").items == ["b"]


def test_seed_from_a_real_slice_happens_once(store: Store, beauty_slice: Dataset) -> None:
    small = beauty_slice.interactions.filter(pl.col("user") < 50)
    from shoprec.data.dataset import build_dataset

    ds = build_dataset(beauty_slice.items, small.drop("user", "item"), name="beauty-50")
    assert store.seed_from_dataset(ds) is True
    assert store.seed_from_dataset(ds) is False
    assert store.count_items() == beauty_slice.n_items
    assert store.count_events() == small.height
    first = small.filter(pl.col("user") == 0)
    assert [e.item_id for e in store.user_events(first["user_id"][0])] == first["item_id"].to_list()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_a_store_from_a_newer_shoprec_is_refused(store: Store) -> None:
    from shoprec.data.errors import DataError
    from shoprec.store.store import SCHEMA_VERSION

    assert store.get_fact("schema_version") == str(SCHEMA_VERSION)
    store.set_fact("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(DataError, match="newer than this shoprec"):
        Store(store.url, schema=_schema_of(store))


def _schema_of(store: Store) -> str | None:
    with store.engine.connect() as conn:
        if store.engine.dialect.name != "postgresql":
            return None
        return conn.exec_driver_sql("SHOW search_path").scalar()
