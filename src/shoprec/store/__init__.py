"""Durable store of the shop's catalogue and events (SQLite embedded, PostgreSQL in production)."""

from shoprec.store.records import EventRecord, ItemRecord
from shoprec.store.store import Store, make_engine

__all__ = ["EventRecord", "ItemRecord", "Store", "make_engine"]
