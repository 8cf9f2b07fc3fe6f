"""The engine opened from files for one command: what `shoprec recommend / search / explain`
stand on, so the CLI answers exactly as the running service would.

A shop that serves has a store beside its bundle (or at `SHOPREC_DATABASE_URL`): the CLI then
reads the shopper's fresh events and the live catalogue from it, like the service. Without a
store it reads the bundle's own interactions and catalogue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.serving import Serving, adopt_new_items
from shoprec.store import EventRecord, Store, url_beside_bundle

#: Most recent events of one shopper that recommendations read (the service's default too).
MAX_HISTORY_EVENTS = 500


@dataclass
class LocalShop:
    serving: Serving
    catalogue: Catalogue
    store: Store | None
    max_history_events: int = MAX_HISTORY_EVENTS

    def events(self, user_id: str) -> list[EventRecord]:
        """The shopper's most recent events; KeyError naming the id when there are none."""
        if self.store is not None:
            found = self.store.user_events(user_id, limit=self.max_history_events)
        else:
            found = bundle_events(self.serving, user_id, self.max_history_events)
        if not found:
            where = "the store" if self.store is not None else "the bundle"
            raise KeyError(f"unknown id {user_id!r}: no events in {where} (the service would "
                           "answer with popular items)")
        return found

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def open_shop(bundle_dir: Path, database_url: str | None = None) -> LocalShop:
    """Load the bundle; use the store at `database_url`, else `SHOPREC_DATABASE_URL`, else the
    SQLite file the service keeps beside the bundle when it exists."""
    serving = Serving.load(bundle_dir)
    url = database_url or os.environ.get("SHOPREC_DATABASE_URL")
    if url is None:
        beside = url_beside_bundle(bundle_dir)
        url = beside if Path(beside.removeprefix("sqlite:///")).is_file() else None
    store = Store(url) if url else None
    if store is not None and store.is_seeded():
        catalogue = Catalogue.from_store(store)
    else:
        if store is not None:
            store.close()
        store = None
        catalogue = Catalogue.from_frame(serving.bundle.dataset.items)
    adopt_new_items(serving, catalogue)
    return LocalShop(serving, catalogue, store)


def bundle_events(serving: Serving, user_id: str, limit: int) -> list[EventRecord]:
    """The shopper's interactions in the bundle as events, in time order (the last `limit`)."""
    rows = serving.bundle.dataset.interactions.filter(pl.col("user_id") == user_id).tail(limit)
    return [EventRecord(user_id, i, e, v, t) for i, e, v, t in
            rows.select("item_id", "event", "value", "timestamp").iter_rows()]
