"""What kind of outage the database is in, told by what the database said, and a health probe
that finds out whether a write would succeed by making one.

The kinds are told apart by the driver's error code, never by matching words in its message:
SQLite's result codes (`sqlite3.Error.sqlite_errorcode`) and PostgreSQL's SQLSTATE
(`psycopg.Error.sqlstate`). SQLite reports a write into files the process may not change (made
read-only or immutable after it opened them) as a bare I/O error, and a database file deleted
under it not at all; so for SQLite the engine also looks at the file itself (`name_outages`):
missing, not writable, or on a disk with no room left. Every kind is a phrase safe to show any
client: never the driver's text, which may name the host, port, user or statement.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy import exc as sa_exc

LOCKED = "the database is locked by another writer"
READ_ONLY = "the database is read-only"
FULL = "the database has no room to write"
MISSING = "the database is missing"
UNREACHABLE = "the database cannot be reached"
POOL_EMPTY = "no database connection came free in time"
IO_ERROR = "the database's files cannot be written (I/O error)"
DAMAGED = "the database file is damaged"

#: SQLite primary result codes (https://sqlite.org/rescode.html)
_SQLITE = {5: LOCKED, 6: LOCKED, 8: READ_ONLY, 10: IO_ERROR, 11: DAMAGED, 13: FULL, 14: MISSING,
           26: DAMAGED}
_SQLITE_READONLY_DBMOVED = 1032  # the file was moved or deleted since it was opened
#: PostgreSQL SQLSTATEs, exact codes first, then classes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_POSTGRES = {"25006": READ_ONLY, "53100": FULL, "55P03": LOCKED, "40P01": LOCKED,
             "57014": LOCKED, "3D000": MISSING, "42P01": MISSING, "53300": POOL_EMPTY}
_POSTGRES_CLASSES = {"08": UNREACHABLE, "57": UNREACHABLE, "28": "the database refused the "
                     "credentials", "53": FULL}
#: the fact the health probe writes (the time of the last probe)
PROBE_FACT = "health_checked_at"
#: free bytes below which a failed SQLite write is taken for a full disk
_NO_ROOM_BYTES = 1 << 20


def outage_kind(exc: BaseException) -> str:
    """The outage an exception from the store means, as a phrase safe to show anyone."""
    named = getattr(exc, "shoprec_outage", None)
    if named:
        return named
    if isinstance(exc, sa_exc.TimeoutError):
        return POOL_EMPTY
    return classify(getattr(exc, "orig", None) or exc, None)


def classify(error: BaseException, sqlite_path: Path | None) -> str:
    """The kind of a driver error; `sqlite_path` (the database file) refines SQLite's I/O
    errors and its silence about a deleted file."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        if code == _SQLITE_READONLY_DBMOVED:
            return MISSING
        kind = _SQLITE.get(code & 0xFF, f"database error ({getattr(error, 'sqlite_errorname', code)})")
        if sqlite_path is not None and kind in (IO_ERROR, MISSING, READ_ONLY):
            return sqlite_file_state(sqlite_path) or kind
        return kind
    state = getattr(error, "sqlstate", None)
    if state:
        return _POSTGRES.get(state) or _POSTGRES_CLASSES.get(state[:2]) \
            or f"database error (SQLSTATE {state})"
    if isinstance(error, sa_exc.DisconnectionError | ConnectionError | OSError):
        return UNREACHABLE
    if type(error).__module__.startswith("psycopg"):  # no SQLSTATE: the server never answered
        return UNREACHABLE
    return f"database error ({type(error).__name__})"


def sqlite_file_state(path: Path) -> str | None:
    """What is wrong with an SQLite database file, found by looking at it: missing, not
    writable (read-only file system, permissions, the immutable flag) or on a full disk; None
    when the file looks writable."""
    if not path.exists():
        return MISSING
    for part in (path, Path(f"{path}-wal")):
        if not part.exists():
            continue
        try:
            with open(part, "r+b"):
                pass
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return READ_ONLY
            raise
    if shutil.disk_usage(path.parent).free < _NO_ROOM_BYTES:
        return FULL
    return None


def name_outages(engine: Engine, sqlite_path: Path | None) -> None:
    """Classify every error the engine raises where its database is known, and (SQLite) never
    hand out a connection to a file deleted or replaced since that connection opened it: a write
    through it would be acknowledged and lost."""
    @event.listens_for(engine, "handle_error")
    def _name(context: Any) -> None:
        kind = classify(context.original_exception, sqlite_path)
        for exc in (context.sqlalchemy_exception, context.original_exception):
            if exc is not None:
                try:
                    exc.shoprec_outage = kind
                except AttributeError:  # a built-in exception type without a __dict__
                    pass

    if sqlite_path is None:
        return

    @event.listens_for(engine, "connect")
    def _remember(_dbapi_connection: Any, record: Any) -> None:
        record.info["file"] = _identity(sqlite_path)

    @event.listens_for(engine, "checkout")
    def _same_file(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _identity(sqlite_path) != record.info.get("file"):
            error = sa_exc.DisconnectionError("the database file was deleted or replaced")
            error.shoprec_outage = MISSING
            raise error  # the pool opens a new connection (mode=rw: fails while missing)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def probe(engine: Engine, table: str = "facts") -> dict[str, str]:
    """{"read": "ok" | outage, "write": "ok" | outage}: a read, then a committed write of one
    fact, `PROBE_FACT` (a rolled-back write never reaches SQLite's files, so it cannot tell
    that they refuse writes), each bounded to about a second."""
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
            try:  # a changed value: SQLite writes nothing for an update that changes nothing
                now = {"now": f"{time.time():.6f}"}
                if not conn.execute(text(f"UPDATE {table} SET value = :now "
                                         f"WHERE key = '{PROBE_FACT}'"), now).rowcount:
                    conn.execute(text(f"INSERT INTO {table} (key, value) "
                                      f"VALUES ('{PROBE_FACT}', :now)"), now)
                conn.commit()
            finally:  # the pooled connection goes back with its usual wait
                conn.rollback()
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={int(usual)}")
                else:
                    conn.execute(text("SET statement_timeout = 0"))
                conn.commit()
    except Exception as exc:  # noqa: BLE001
        out["write"] = outage_kind(exc)
    return out
