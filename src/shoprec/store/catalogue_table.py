"""The catalogue table of the `Store`: items by shop id in catalogue order, with a version that
every write bumps so other processes notice it with one point read.

A mixin of `Store` (which opens the engine and creates the tables), apart so each table's code
stays short; it reads and writes only `items` and the version fact.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Engine, Text, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from shoprec.store.records import ItemRecord
from shoprec.store.schema import INSERT_CHUNK, facts, items

_ITEM_FIELDS = ("title", "category", "brand", "price", "consumable")
#: The fact that counts catalogue writes (`catalogue_version`).
CATALOGUE_VERSION = "catalogue_version"


class CatalogueTable:
    """The shop's items (see `Store`)."""

    engine: Engine

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
            for lo in range(0, len(rows), INSERT_CHUNK):
                conn.execute(stmt, rows[lo : lo + INSERT_CHUNK])
            conn.execute(bump)  # in the same transaction: a reader never sees one without the other
        return len(rows)

    def catalogue_version(self) -> int:
        """A number that grows with every `upsert_items` of any process (one point read), so a
        serving process notices another's catalogue writes cheaply."""
        with self.engine.connect() as conn:
            found = conn.execute(select(facts.c.value)
                                 .where(facts.c.key == CATALOGUE_VERSION)).scalar()
        return int(found or 0)

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
