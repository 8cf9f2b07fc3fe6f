"""Durable catalogue and event log behind SQLAlchemy 2: SQLite (WAL) embedded, or PostgreSQL.

Every write is one transaction: a batch of events is stored whole or not at all, and a call
returns only after the commit (SQLite runs with `synchronous=FULL`, so a commit survives power
loss). Reads of one shopper's history use the (user_id, id) index, cheap enough per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Text, cast, delete, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite

from shoprec.data.dataset import INTERACTION_SCHEMA, Dataset
from shoprec.data.errors import DataError
from shoprec.store.engine import checkpoint, erase_freed_bytes, make_engine, redact_url
from shoprec.store.exposures import forget_user
from shoprec.store.outages import probe
from shoprec.store.records import EventRecord, ItemRecord
from shoprec.store.schema import (
    EVENT_ID_LENGTH,
    ID_LENGTH,
    conversations,
    events,
    facts,
    items,
    metadata,
    precomputed,
)
from shoprec.store.shopper_keys import forget_version

#: Version of the table layout (raise it, with a migration in `Store`, when tables change).
SCHEMA_VERSION = 4  # 2: events.event_id (client idempotency ids); 3: exposures, assignments,
#                     outcomes; 4: shopper_keys (new tables: `create_all` adds them to an older
#                     store)
_ITEM_FIELDS = ("title", "category", "brand", "price", "consumable")
_CHUNK = 5000
#: The fact that counts catalogue writes (`catalogue_version`).
CATALOGUE_VERSION = "catalogue_version"


class Store:
    """The shop's catalogue and events; tables are created on open when missing."""

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

    # ---- catalogue ---------------------------------------------------------------------------

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    def upsert_items(self, records: Sequence[ItemRecord]) -> int:
        """Insert new items, update known ones (their catalogue position is kept); one transaction."""
        rows = [_item_row(r) for r in records]
        if not rows:
            return 0
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)
        stmt = insert(items)
        stmt = stmt.on_conflict_do_update(
            index_elements=["item_id"],
            set_={c: stmt.excluded[c] for c in (*_ITEM_FIELDS, "attributes", "updated_at")},
        )
        bump = insert(facts).values(key=CATALOGUE_VERSION, value="1")
        bump = bump.on_conflict_do_update(index_elements=["key"], set_={
            "value": cast(cast(facts.c.value, BigInteger) + 1, Text)})
        with self.engine.begin() as conn:
            for lo in range(0, len(rows), _CHUNK):
                conn.execute(stmt, rows[lo : lo + _CHUNK])
            conn.execute(bump)  # in the same transaction: a reader never sees one without the other
        return len(rows)

    def catalogue_version(self) -> int:
        """A number that grows with every `upsert_items` of any process (one point read), so a
        serving process notices another's catalogue writes cheaply."""
        return int(self.get_fact(CATALOGUE_VERSION) or 0)

    def items_updated_since(self, since: float) -> list[ItemRecord]:
        """Items inserted or updated at or after `since` (wall-clock seconds), in position order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(items).where(items.c.updated_at >= since)
                                .order_by(items.c.position)).mappings().all()
        return [_item_record(r) for r in rows]

    def get_item(self, item_id: str) -> ItemRecord | None:
        found = self.get_items([item_id])
        return found.get(item_id)

    def get_items(self, item_ids: Iterable[str]) -> dict[str, ItemRecord]:
        ids = list(dict.fromkeys(item_ids))
        out: dict[str, ItemRecord] = {}
        with self.engine.connect() as conn:
            for lo in range(0, len(ids), 500):
                query = select(items).where(items.c.item_id.in_(ids[lo : lo + 500]))
                for row in conn.execute(query).mappings():
                    out[row["item_id"]] = _item_record(row)
        return out

    def known_item_ids(self, item_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(item_ids))
        known: set[str] = set()
        with self.engine.connect() as conn:
            for lo in range(0, len(ids), 500):
                query = select(items.c.item_id).where(items.c.item_id.in_(ids[lo : lo + 500]))
                known.update(conn.execute(query).scalars())
        return known

    def all_items(self) -> list[ItemRecord]:
        """The whole catalogue in position order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(items).order_by(items.c.position)).mappings().all()
        return [_item_record(r) for r in rows]

    def items_frame(self) -> pl.DataFrame:
        """The catalogue in position order: item_id, title, category, brand, price, consumable,
        plus every attribute key as a column (text-aware models read them)."""
        records = self.all_items()
        base = pl.DataFrame(
            {"item_id": [r.item_id for r in records], "title": [r.title for r in records],
             "category": [r.category for r in records], "brand": [r.brand for r in records],
             "price": [r.price for r in records], "consumable": [r.consumable for r in records]},
            schema={"item_id": pl.String, "title": pl.String, "category": pl.String,
                    "brand": pl.String, "price": pl.Float64, "consumable": pl.Boolean},
        )
        keys = sorted({k for r in records for k in r.attributes} - set(base.columns))
        extra = {k: [_text(r.attributes.get(k)) for r in records] for k in keys}
        return base.with_columns(pl.Series(k, v, dtype=pl.String) for k, v in extra.items())

    # ---- events ------------------------------------------------------------------------------

    def add_events(self, records: Sequence[EventRecord]) -> int:
        """Append the events in one transaction; returns how many were newly committed. An
        event whose (user_id, event_id) is already stored is skipped (a retry stores once)."""
        now = time.time()
        for n, r in enumerate(records):
            _check_event(n, r)
        rows = [{"user_id": r.user_id, "item_id": r.item_id, "event": r.event, "value": r.value,
                 "timestamp": r.timestamp, "received_at": now, "event_id": r.event_id}
                for r in records]
        if not rows:
            return 0
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)
        plain = [r for r in rows if r["event_id"] is None]
        keyed = list({(r["user_id"], r["event_id"]): r for r in rows
                      if r["event_id"] is not None}.values())
        stored = 0
        with self.engine.begin() as conn:
            for lo in range(0, len(plain), _CHUNK):
                conn.execute(events.insert(), plain[lo : lo + _CHUNK])
            stored += len(plain)
            stmt = insert(events).on_conflict_do_nothing(index_elements=["user_id", "event_id"])
            for lo in range(0, len(keyed), _CHUNK):
                chunk = keyed[lo : lo + _CHUNK]
                known = set(conn.execute(select(events.c.user_id, events.c.event_id).where(
                    events.c.event_id.in_([r["event_id"] for r in chunk]))).tuples())
                fresh = [r for r in chunk if (r["user_id"], r["event_id"]) not in known]
                if fresh:  # RETURNING names the rows that went in (a racing retry may win one)
                    stored += len(conn.execute(stmt.returning(events.c.id), fresh).all())
        return stored

    def user_events(self, user_id: str, limit: int | None = None) -> list[EventRecord]:
        """The shopper's events in time order (events without a time keep arrival order); with
        `limit`, only the most recent `limit` they sent.

        This read runs on every recommendation, so it goes to the pooled DBAPI connection with
        one prepared statement (about 70 us here, against 350-500 us through SQL expression
        compilation and a `Connection` per call); errors come back as SQLAlchemy's, as from
        every other read.
        """
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        sql = ("SELECT item_id, event, value, timestamp, event_id FROM events "
               f"WHERE user_id = {mark} ORDER BY id "
               + (f"DESC LIMIT {mark}" if limit is not None else ""))
        params = (user_id, int(limit)) if limit is not None else (user_id,)
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            conn = self.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute(sql, params)
                rows = cursor.fetchall()
                cursor.close()
            finally:
                conn.close()  # back to the pool, rolled back
        except dbapi_error as exc:  # the checkout or the read: as SQLAlchemy reports it
            raise sa_exc.DBAPIError.instance(sql, params, exc, dbapi_error) from exc
        out = [EventRecord(user_id, i, e, v, t, x)
               for i, e, v, t, x in (reversed(rows) if limit is not None else rows)]
        return sorted(out, key=lambda e: e.timestamp if e.timestamp is not None else -1)

    def export_events(self, user_id: str, after: int = 0, limit: int = 1000
                      ) -> tuple[list[EventRecord], int | None]:
        """One page of the shopper's events in arrival order, and the cursor of the next page
        (None on the last)."""
        query = (select(events.c.id, events.c.item_id, events.c.event, events.c.value,
                        events.c.timestamp, events.c.event_id)
                 .where(events.c.user_id == user_id, events.c.id > after)
                 .order_by(events.c.id).limit(limit + 1))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        page = [EventRecord(user_id, r.item_id, r.event, r.value, r.timestamp, r.event_id)
                for r in rows[:limit]]
        return page, (int(rows[limit - 1].id) if len(rows) > limit else None)

    def count_events(self, user_id: str | None = None) -> int:
        query = select(func.count()).select_from(events)
        if user_id is not None:
            query = query.where(events.c.user_id == user_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

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

    def user_ids(self) -> set[str]:
        """Every shopper with at least one stored event."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(events.c.user_id).distinct()).scalars())

    def events_frame(self) -> pl.DataFrame:
        """Every event in arrival order, with the columns of `INTERACTION_SCHEMA`."""
        query = (select(events.c.user_id, events.c.item_id, events.c.timestamp, events.c.event,
                        events.c.value).order_by(events.c.id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=INTERACTION_SCHEMA, orient="row")

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
            for lo in range(0, len(rows), _CHUNK):
                conn.execute(events.insert(), rows[lo : lo + _CHUNK])
            conn.execute(facts.insert().values(key="seeded_from", value=ds.name))
        checkpoint(self.engine)  # the seed's log goes into the file now, not at the first delete
        return True


def _check_event(n: int, r: EventRecord) -> None:
    """The same limits on every database (SQLite would store what PostgreSQL refuses)."""
    for name, limit in (("user_id", ID_LENGTH), ("item_id", ID_LENGTH), ("event", 16),
                        ("event_id", EVENT_ID_LENGTH)):
        value = getattr(r, name)
        if value is None and name == "event_id":
            continue
        if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
            raise DataError(f"event {n}: {name} must be text of 1-{limit} characters without "
                            f"NUL, got {value!r:.80}")
    if r.timestamp is not None and (not isinstance(r.timestamp, int) or isinstance(r.timestamp, bool)):
        raise DataError(f"event {n}: timestamp must be whole Unix seconds, got {r.timestamp!r:.40}")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _item_row(r: ItemRecord) -> dict[str, Any]:
    return {"item_id": r.item_id, "title": r.title, "category": r.category, "brand": r.brand,
            "price": r.price, "consumable": bool(r.consumable),
            "attributes": json.dumps(r.attributes, ensure_ascii=False) if r.attributes else None,
            "updated_at": time.time()}


def _item_record(row: Any) -> ItemRecord:
    attrs = json.loads(row["attributes"]) if row["attributes"] else {}
    return ItemRecord(row["item_id"], row["title"], row["category"], row["brand"], row["price"],
                      bool(row["consumable"]), attrs)


def item_record_from_row(row: dict[str, Any]) -> ItemRecord:
    """A catalogue frame row as an item: known fields by name, the rest as attributes."""
    price = row.get("price")
    try:
        price = float(price) if price is not None else None
    except (TypeError, ValueError):
        price = None
    known = {"item_id", *_ITEM_FIELDS}
    attrs = {k: v for k, v in row.items() if k not in known and v is not None
             and isinstance(v, (str, int, float, bool))}
    return ItemRecord(str(row["item_id"]), _text(row.get("title")), _text(row.get("category")),
                      _text(row.get("brand")), price, bool(row.get("consumable") or False), attrs)
