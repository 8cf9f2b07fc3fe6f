"""Durable catalogue and event log behind SQLAlchemy 2: SQLite (WAL) embedded, or PostgreSQL.

Every write is one transaction: a batch of events is stored whole or not at all, and a call
returns only after the commit (SQLite runs with `synchronous=FULL`, so a commit survives power
loss). Reads of one shopper's history use the (user_id, id) index, cheap enough per request.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import inspect as sa_inspect

from shoprec.data.dataset import Dataset
from shoprec.data.errors import DataError
from shoprec.store.catalogue_table import CatalogueTable, item_record_from_row
from shoprec.store.engine import checkpoint, erase_freed_bytes, make_engine, redact_url
from shoprec.store.event_log import EventLog
from shoprec.store.experiment_tables import forget_user
from shoprec.store.outages import probe
from shoprec.store.schema import (
    INSERT_CHUNK,
    conversations,
    events,
    facts,
    metadata,
    precomputed,
)
from shoprec.store.shopper_keys import forget_version

#: Version of the table layout (raise it, with a migration in `Store`, when tables change).
SCHEMA_VERSION = 4  # 2: events.event_id (client idempotency ids); 3: exposures, assignments,
#                     outcomes; 4: shopper_keys (new tables: `create_all` adds them to an older
#                     store)


class Store(CatalogueTable, EventLog):
    """The shop's catalogue and events; tables are created on open when missing. The catalogue
    (`CatalogueTable`) and the event log (`EventLog`) are written beside this file."""

    def __init__(self, url: str, schema: str | None = None, busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.engine = make_engine(url, schema, busy_timeout_s)
        try:
            if schema and not sa_inspect(self.engine).has_schema(schema):
                raise DataError(f"{self.safe_url}: PostgreSQL schema {schema!r} does not exist; "
                                f"create it (CREATE SCHEMA \"{schema}\") or set "
                                "SHOPREC_DATABASE_SCHEMA to one that does")
            had_events = sa_inspect(self.engine).has_table("events")
            metadata.create_all(self.engine)
            self._check_schema_version(had_events)
        except Exception:
            self.engine.dispose()
            raise

    @property
    def local(self) -> bool:
        """A file on this machine (SQLite in WAL mode): a read takes tens of microseconds and
        never waits for a writer, so the service reads it without a thread hop."""
        return self.engine.dialect.name == "sqlite"

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return redact_url(self.url)

    def _check_schema_version(self, had_events: bool) -> None:
        """Record the table layout's version in a new store, migrate an older one; refuse a
        store written by a newer shoprec (its tables may hold what this version would misread)."""
        found = self.get_fact("schema_version")
        if found is None:
            found = "1" if had_events else str(SCHEMA_VERSION)
        if int(found) > SCHEMA_VERSION:
            raise DataError(f"{self.safe_url}: store schema version {found} is newer than this "
                            f"shoprec's {SCHEMA_VERSION}; upgrade shoprec")
        if int(found) < 2:  # version 1 had no event_id column
            with self.engine.begin() as conn:
                columns = {c["name"] for c in sa_inspect(conn).get_columns("events")}
                if "event_id" not in columns:
                    conn.exec_driver_sql("ALTER TABLE events ADD COLUMN event_id VARCHAR(128)")
                for index in events.indexes:
                    index.create(conn, checkfirst=True)
        if found != str(SCHEMA_VERSION) or self.get_fact("schema_version") is None:
            self.set_fact("schema_version", str(SCHEMA_VERSION))

    def health(self) -> dict[str, str]:
        """{"read": ..., "write": ...}: "ok" or the error each met (see `store.engine.probe`)."""
        return probe(self.engine)

    def is_seeded(self) -> bool:
        """True once the store holds a catalogue (seeded from a bundle or filled by the shop)."""
        return self.get_fact("seeded_from") is not None or self.count_items() > 0

    def close(self) -> None:
        self.engine.dispose()

    # ---- facts -------------------------------------------------------------------------------

    def get_fact(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(facts.c.value).where(facts.c.key == key)).scalar()

    def set_fact(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(facts).where(facts.c.key == key))
            conn.execute(facts.insert().values(key=key, value=value))

    # ---- shoppers ----------------------------------------------------------------------------

    def delete_user(self, user_id: str) -> int:
        """Remove every event, chat conversation and precomputed list of the shopper, and what
        they were shown in experiments; returns how many events went. On SQLite the file is then
        rewritten and the write-ahead log truncated, so no file keeps a byte of their rows
        (`store.engine.erase_freed_bytes`)."""
        with self.engine.begin() as conn:
            removed = conn.execute(delete(events).where(events.c.user_id == user_id)).rowcount
            talked = conn.execute(delete(conversations)
                                  .where(conversations.c.user_id == user_id)).rowcount
            talked += conn.execute(delete(precomputed)
                                   .where(precomputed.c.user_id == user_id)).rowcount
            talked += forget_version(conn, user_id)  # their tokens stop working
        traces = forget_user(self.engine, user_id)  # what they were shown, and its outcomes
        if removed or talked or traces:
            erase_freed_bytes(self.engine)
        return removed

    # ---- conversations -----------------------------------------------------------------------

    def load_conversation(self, conversation_id: str) -> tuple[str | None, dict[str, Any]] | None:
        """(user id, state) of a chat conversation, or None when there is no such one."""
        query = select(conversations.c.user_id, conversations.c.state).where(
            conversations.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], json.loads(row[1]))

    def save_conversation(self, conversation_id: str, user_id: str | None,
                          state: dict[str, Any]) -> None:
        """Insert or replace the conversation's state (one transaction)."""
        row = {"conversation_id": conversation_id, "user_id": user_id,
               "state": json.dumps(state, ensure_ascii=False), "updated_at": time.time()}
        with self.engine.begin() as conn:
            conn.execute(delete(conversations).where(
                conversations.c.conversation_id == conversation_id))
            conn.execute(conversations.insert().values(**row))

    # ---- seeding -----------------------------------------------------------------------------

    def seed_from_dataset(self, ds: Dataset) -> bool:
        """Copy a bundle's catalogue and interactions in, once per store; False when already done.

        The fact `seeded_from` records the data fingerprint so a restart never duplicates rows.
        """
        if self.get_fact("seeded_from") is not None:
            return False
        records = [item_record_from_row(row) for row in ds.items.iter_rows(named=True)]
        frame = ds.interactions.select("user_id", "item_id", "event", "value", "timestamp")
        now = time.time()
        self.upsert_items(records)  # idempotent: a crash before the events commit re-runs it
        rows = [{"user_id": u, "item_id": i, "event": e, "value": v, "timestamp": t,
                 "received_at": now} for u, i, e, v, t in frame.iter_rows()]
        with self.engine.begin() as conn:
            for lo in range(0, len(rows), INSERT_CHUNK):
                conn.execute(events.insert(), rows[lo : lo + INSERT_CHUNK])
            conn.execute(facts.insert().values(key="seeded_from", value=ds.name))
        checkpoint(self.engine)  # the seed's log goes into the file now, not at the first delete
        return True
