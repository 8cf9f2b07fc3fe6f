"""Database faults, made for real (tests/support/faults.py): each answered with a clear status
(503 + Retry-After for writes, degraded health, popular recommendations) and recovered without
a restart (issue 14)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.service.conftest import API_KEY, LiveServer, serving_copy
from tests.support.faults import (
    TcpProxy,
    disk_full,
    postgres_read_only,
    small_disk,
    sqlite_immutable,
    sqlite_locked,
)

KEY = {"X-API-Key": API_KEY}

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WRITE_TIMEOUT = 2.0


def serving(bundle: Path, folder: Path, url: str, schema: str | None = None,
            mode: str = "in-process"):
    return serving_copy(bundle, folder, mode, database_url=url, database_schema=schema,
                        write_timeout_s=WRITE_TIMEOUT)


def event(live: LiveServer, user: str) -> dict:
    return {"user_id": user, "item_id": live.ctx.serving.item_ids[0], "event": "view"}


def assert_unavailable(r) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"].startswith("the store is unavailable")


def assert_recovered(live: LiveServer, user: str) -> None:
    assert live.client.post("/events", json=event(live, user), headers=KEY).json()["stored"] == 1
    assert live.client.get("/health").json()["status"] == "ok"
    body = live.client.get(f"/recommendations/{user}?k=3").json()
    assert body["degraded"] is False


@pytest.fixture
def admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        engine.connect().close()
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {ADMIN_URL} does not answer ({exc.orig}); run "
                    "`bash scripts/test-services.sh` (make test does)")
    yield engine
    engine.dispose()


def test_sqlite_locked_by_another_process(slice_bundle: Path, tmp_path: Path,
                                         server_mode: str) -> None:
    db = tmp_path / "store.sqlite"
    with serving(slice_bundle, tmp_path, f"sqlite:///{db}", mode=server_mode) as live:
        with sqlite_locked(str(db)), ThreadPoolExecutor(24) as pool:
            start = time.monotonic()
            writes = [pool.submit(live.client.post, "/events", json=event(live, f"lk-{n}"),
                                  headers=KEY)
                      for n in range(16)]
            reads = [pool.submit(timed, live, f"/recommendations/lk-read-{n}?k=5") for n in range(8)]
            for w in writes:
                assert_unavailable(w.result())
            waited = time.monotonic() - start
            assert waited < 4 * WRITE_TIMEOUT  # answered, not held until the lock goes
            for r in reads:
                status, seconds = r.result()
                assert status == 200 and seconds < WRITE_TIMEOUT  # reads never wait on writers
            health = live.client.get("/health").json()
            assert health["status"] == "degraded" and "locked" in health["store_checks"]["write"]
        assert_recovered(live, "lk-after")


def assert_says(live: LiveServer, payload: dict, kind: str, status: str = "degraded") -> None:
    """A write answers 503 naming `kind`, and /health reports the same before any write."""
    health = live.client.get("/health")
    assert health.json()["status"] == status, health.text
    assert health.json()["store_checks"]["write" if status == "degraded" else "read"] == kind
    r = live.client.post("/events", json=payload, headers=KEY)
    assert_unavailable(r)
    assert r.json()["error"] == f"the store is unavailable ({kind}); try again later"


# File faults in the default deployment only: the in-process server classifies errors with the
# same code, and each pre-fork start costs seconds of the suite's budget.
@pytest.mark.parametrize("server_mode", ["workers-2"])
def test_sqlite_read_only_then_missing_files_are_told_apart(slice_bundle: Path, tmp_path: Path,
                                                            server_mode: str) -> None:
    db = tmp_path / "store.sqlite"  # on the disk's own file system (tmpfs ignores chattr +i
    # for files already open, so there a write through an open connection still succeeds)
    with serving(slice_bundle, tmp_path, f"sqlite:///{db}", mode=server_mode) as live:
        payload = event(live, "rw-1")
        assert live.client.get("/health").json()["status"] == "ok"
        with sqlite_immutable(db):
            assert_says(live, payload, "the database is read-only")
            body = live.client.get("/recommendations/rw-1?k=4").json()
            assert body["degraded"] is False and len(body["items"]) == 4
        assert_recovered(live, "rw-2")
        for path in tmp_path.glob("store.sqlite*"):
            path.unlink()
        assert_says(live, payload | {"user_id": "gone-1"}, "the database is missing",
                    status="down")
        body = live.client.get("/recommendations/gone-1?k=3").json()
        assert body["degraded"] is True and len(body["items"]) == 3
        assert not db.exists()  # no empty database was made to take the writes


@pytest.mark.parametrize("server_mode", ["workers-2"])
def test_sqlite_full_disk_is_no_room_and_recovers(slice_bundle: Path, tmp_path: Path,
                                                  server_mode: str) -> None:
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "store.sqlite"
        with serving(slice_bundle, tmp_path, f"sqlite:///{db}", mode=server_mode) as live:
            payload = event(live, "full-1")
            with disk_full(disk):
                assert_says(live, payload, "the database has no room to write")
            assert_recovered(live, "full-2")
            assert live.client.get("/users/full-2/export", headers=KEY).json()["events"]


def timed(live: LiveServer, path: str) -> tuple[int, float]:
    start = time.monotonic()
    status = live.client.get(path).status_code
    return status, time.monotonic() - start


def test_postgresql_down_and_back(slice_bundle: Path, tmp_path: Path, admin: sa.Engine,
                                  server_mode: str) -> None:
    schema = f"shoprec_fault_{uuid.uuid4().hex[:10]}"
    setup = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                             isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    proxy = TcpProxy("127.0.0.1", 5432)
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test"
        with serving(slice_bundle, tmp_path, url, schema, server_mode) as live:
            user = live.ctx.serving.bundle.dataset.user_map.ids[2]
            assert live.client.get(f"/recommendations/{user}?k=3").json()["strategy"] == "model"
            proxy.cut()
            down = live.client.post("/events", json=event(live, "pg-down"), headers=KEY)
            assert_unavailable(down)
            assert down.json()["error"] == ("the store is unavailable (the database cannot be "
                                            "reached); try again later")
            body = live.client.get(f"/recommendations/{user}?k=3").json()
            assert body["degraded"] is True and body["strategy"] == "popular"
            assert len(body["items"]) == 3
            health = live.client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "down"
            assert str(proxy.port) not in health.text + down.text  # no address leaks out
            assert_unavailable(live.client.get(f"/users/{user}/profile",
                                               headers={"X-API-Key": API_KEY}))
            proxy.restore()
            assert_recovered(live, "pg-back")
    finally:
        proxy.close()
        with setup.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        setup.dispose()


def test_postgresql_read_only_and_back(slice_bundle: Path, tmp_path: Path, admin: sa.Engine,
                                      server_mode: str) -> None:
    database = f"shoprec_ro_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        with serving(slice_bundle, tmp_path, url, mode=server_mode) as live:
            with postgres_read_only(ADMIN_URL, database):
                assert_unavailable(live.client.post("/events", json=event(live, "ro-1"),
                                                    headers=KEY))
                health = live.client.get("/health")
                assert health.status_code == 200 and health.json()["status"] == "degraded"
                assert "read-only" in health.json()["store_checks"]["write"]
                body = live.client.get("/recommendations/ro-1?k=4").json()
                assert body["degraded"] is False and len(body["items"]) == 4
            assert_recovered(live, "ro-2")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :db"), {"db": database})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
