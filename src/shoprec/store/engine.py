"""Opening the database and asking it how it is: engines for SQLite and PostgreSQL, a health
probe that tells read-only and locked apart from down, and the SQLite file rewrite that
deletion needs (a deleted row must not linger in the write-ahead log or in a page's free space).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url


def redact_url(url: str) -> str:
    """A database URL safe to print or log: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not parseable: print nothing of it
        return "<unparseable database URL>"


def make_engine(url: str, schema: str | None = None, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for `url`; `schema` (PostgreSQL only) puts every table in that schema.

    `busy_timeout_s` bounds how long a statement waits for a lock (SQLite) or a connection
    (both): a stalled database then answers an error in that time instead of holding the
    request, so the service can say 503 and keep its threads.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_timeout=busy_timeout_s,
                               connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            # deleted shoppers' rows are overwritten on disk, not left in free pages
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cursor.close()

        return engine
    options = f"-csearch_path={schema}" if schema else ""
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         pool_timeout=busy_timeout_s,
                         connect_args={"connect_timeout": max(1, int(busy_timeout_s)),
                                       **({"options": options} if options else {})})


def probe(engine: Engine, table: str = "facts") -> dict[str, str]:
    """{"read": "ok" | error, "write": "ok" | error}: a read, then a write that is rolled back
    (so a read-only or locked store shows as such), each bounded to about a second."""
    out = {"read": "ok", "write": "ok"}
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"read": outage_kind(exc), "write": "not tried"}
    try:
        with engine.connect() as conn:
            if sqlite:
                usual = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
                conn.exec_driver_sql("PRAGMA busy_timeout=1000")
            else:
                conn.execute(text("SET statement_timeout = 1000"))
            conn.commit()
            try:
                trial = conn.begin()
                conn.execute(text(f"UPDATE {table} SET value = value WHERE key = 'schema_version'"))
                trial.rollback()
            finally:  # the pooled connection goes back with its usual wait
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={int(usual)}")
                else:
                    conn.rollback()
                    conn.execute(text("SET statement_timeout = 0"))
                conn.commit()
    except Exception as exc:  # noqa: BLE001
        out["write"] = outage_kind(exc)
    return out


def outage_kind(exc: BaseException) -> str:
    """What kind of outage, in words safe to show anyone: never the driver's own text, which may
    name the database's host, port, user or statement."""
    if isinstance(exc, sa_exc.TimeoutError):
        return "no database connection came free in time"
    text = str(getattr(exc, "orig", None) or exc).lower()
    for words, kind in ((("locked", "busy"), "the database is locked by another writer"),
                        (("read-only", "readonly", "read only"), "the database is read-only"),
                        (("connect", "closed", "terminat", "refused", "timeout", "timed out"),
                         "the database cannot be reached"),
                        (("disk", "full", "space"), "the database has no room to write")):
        if any(w in text for w in words):
            return kind
    return f"database error ({type(getattr(exc, 'orig', None) or exc).__name__})"


def checkpoint(engine: Engine, attempts: int = 20) -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate the log to zero
    bytes, so pages that held deleted rows are gone from both (secure_delete zeroes them in the
    file). Retries while readers hold old snapshots; True once the log is empty. Other
    databases: nothing to do here."""
    if engine.dialect.name != "sqlite":
        return True
    for _ in range(attempts):
        with engine.connect() as conn:
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy == 0:
            return True
        time.sleep(0.05)
    return False


def erase_freed_bytes(engine: Engine) -> bool:
    """SQLite: rewrite the database file (VACUUM), then empty the write-ahead log, so no byte of
    a deleted row survives anywhere in the files; True once the log is empty.

    Why not secure_delete alone: it zeroes a row where it is deleted, but an index page that
    was split or rebalanced earlier keeps stale copies of cells that moved to a sibling page in
    its unallocated space (measured: 9 of 100 deleted shoppers' ids were still in pages of
    `ux_events_user_event_id` and `ix_events_user` after their rows were deleted). VACUUM
    rebuilds every table and index from live rows; on the full Beauty store (about 200,000
    events, 28 MB) it takes about 0.2 s (benchmarks/deletion.py). It holds the write lock while
    it runs: writers wait (busy timeout), readers do not. PostgreSQL: nothing is done here; a
    deleted row's bytes stay in its table's pages until autovacuum frees them and later rows
    overwrite them, a policy of the database (or `VACUUM FULL`), not of one deletion."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM")
    return checkpoint(engine)


def url_beside_bundle(bundle_dir: Path) -> str:
    """The default store: an SQLite file next to (not inside) the bundle folder, which
    retraining replaces."""
    path = Path(bundle_dir).resolve()
    return f"sqlite:///{path.with_name(path.name + '.store.sqlite')}"
