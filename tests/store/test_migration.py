"""A store written by an older layout (version 1, no event ids) opens, migrates and keeps
every row; idempotency works on it afterwards, and the experiment tables (version 3) and the
shoppers' token versions (version 4) exist."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shoprec.store import EventRecord, Store

V1_EVENTS = """CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id VARCHAR(256) NOT NULL,
 item_id VARCHAR(256) NOT NULL, event VARCHAR(16) NOT NULL, value FLOAT, timestamp BIGINT,
 received_at FLOAT NOT NULL)"""


def test_version_1_store_is_migrated_without_losing_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(V1_EVENTS)
        conn.exec_driver_sql("CREATE TABLE facts (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO facts VALUES ('schema_version', '1')")
        conn.exec_driver_sql("INSERT INTO events (user_id, item_id, event, timestamp, received_at) "
                             "VALUES ('old-1', 'i1', 'view', 10, 0), ('old-1', 'i2', 'purchase', 11, 0)")
    engine.dispose()

    store = Store(url)
    assert store.get_fact("schema_version") == "4"
    assert {"exposures", "assignments", "outcomes", "shopper_keys"} <= set(
        sa.inspect(store.engine).get_table_names())
    assert [(e.item_id, e.event, e.event_id) for e in store.user_events("old-1")] == [
        ("i1", "view", None), ("i2", "purchase", None)]
    batch = [EventRecord("old-1", "i3", "cart", None, 12, "retry-1")]
    assert store.add_events(batch) == 1 and store.add_events(batch) == 0
    assert store.count_events("old-1") == 3
    store.close()
    assert Store(url).count_events() == 3  # a second open does not migrate again


def test_a_missing_postgresql_schema_is_named_not_a_traceback(tmp_path: Path) -> None:
    import pytest

    from shoprec.data.errors import DataError
    from tests.conftest import _database

    missing = r"PostgreSQL schema 'no_such_schema_x' does not exist"
    with _database("postgresql", tmp_path) as (url, _), pytest.raises(DataError, match=missing):
        Store(url, schema="no_such_schema_x")
