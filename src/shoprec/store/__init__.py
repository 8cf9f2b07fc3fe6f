"""Durable store of the shop's catalogue and events (SQLite embedded, PostgreSQL in production)."""

from shoprec.store.engine import make_engine, redact_url, url_beside_bundle
from shoprec.store.records import EventRecord, ItemRecord
from shoprec.store.store import Store

__all__ = ["EventRecord", "ItemRecord", "Store", "make_engine", "redact_url", "url_beside_bundle"]
