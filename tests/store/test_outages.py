"""Outages told apart by what the database said (issue 24, item 7): real errors from real
databases, each named by its code, and the health probe's write reaching the files."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shoprec.store import Store
from shoprec.store.outages import FULL, LOCKED, MISSING, READ_ONLY, outage_kind
from tests.support.faults import sqlite_immutable, sqlite_locked


def failure(store: Store, *statements: str) -> BaseException:
    with pytest.raises(sa.exc.DBAPIError) as caught, store.engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
        conn.commit()
    return caught.value


def test_sqlite_errors_are_named_by_their_codes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'shop.sqlite'}", busy_timeout_s=0.2)
    pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
    full = failure(store, f"PRAGMA max_page_count = {pages}",  # SQLITE_FULL, as a full disk
                   "INSERT INTO facts (key, value) VALUES ('big', printf('%.*c', 90000, 'x'))")
    assert outage_kind(full) == FULL
    with sqlite_locked(str(tmp_path / "shop.sqlite")):
        assert outage_kind(failure(store, "INSERT INTO facts VALUES ('k', 'v')")) == LOCKED
        assert store.health() == {"read": "ok", "write": LOCKED}
    with sqlite_immutable(tmp_path / "shop.sqlite"):  # the I/O error, looked into
        assert store.health() == {"read": "ok", "write": READ_ONLY}
    assert store.health() == {"read": "ok", "write": "ok"}
    store.close()


def test_a_deleted_sqlite_file_is_missing_and_never_recreated(tmp_path: Path) -> None:
    db = tmp_path / "shop.sqlite"
    store = Store(f"sqlite:///{db}")
    for path in tmp_path.glob("shop.sqlite*"):
        path.unlink()
    assert store.health() == {"read": MISSING, "write": "not tried"}
    with pytest.raises(sa.exc.DBAPIError) as caught:
        store.count_events()
    assert outage_kind(caught.value) == MISSING
    assert not db.exists()
    store.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_read_only_is_named_by_its_sqlstate(database_url) -> None:
    url, schema = database_url
    store = Store(url, schema=schema)
    error = failure(store, "SET TRANSACTION READ ONLY", "INSERT INTO facts VALUES ('k', 'v')")
    assert error.orig.sqlstate == "25006" and outage_kind(error) == READ_ONLY
    store.close()
