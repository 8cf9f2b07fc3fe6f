"""Opening the database: engines for SQLite and PostgreSQL (whose errors `store.outages`
names), and the SQLite file rewrite that deletion needs (a deleted row must not linger in the
write-ahead log or in a page's free space).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from shoprec.store.outages import name_outages


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
        file = sqlite_file(url)
        if file is not None:
            # the file is made once, here; connections open it with mode=rw, so a file deleted
            # while the shop runs is an error, not a new empty database taking the writes
            file.parent.mkdir(parents=True, exist_ok=True)
            file.touch(exist_ok=True)
            # quoted twice: once for the SQLite URI, once for SQLAlchemy's URL, which unquotes
            url = f"sqlite:///file:{quote(quote(str(file)))}?mode=rw&uri=true"
        engine = create_engine(url, pool_timeout=busy_timeout_s,
                               connect_args={"timeout": busy_timeout_s, "check_same_thread": False})
        name_outages(engine, file)

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
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                           pool_timeout=busy_timeout_s,
                           connect_args={"connect_timeout": max(1, int(busy_timeout_s)),
                                         **({"options": options} if options else {})})
    name_outages(engine, None)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain `sqlite:///path` URL; None for memory or a URL with options
    (opened as given)."""
    path = url.split("///", 1)[-1] if url.startswith("sqlite:///") else ""
    if not path or path == ":memory:" or "?" in path or path.startswith("file:"):
        return None
    return Path(path).expanduser().resolve()


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
