"""Precomputed lists in the store: written, read back, and stale once the shopper acts again."""

from __future__ import annotations

import time

from shoprec.store import EventRecord, Store
from shoprec.store.precomputed import read_precomputed, stale_shoppers, write_precomputed


def test_write_read_and_staleness(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    try:
        store.add_events([EventRecord("u1", "a", "purchase"), EventRecord("u2", "b", "view")])
        assert sorted(stale_shoppers(store)) == ["u1", "u2"]  # nothing computed yet
        written = write_precomputed(store, [("u1", ["x", "y"], [0.5, 0.25]),
                                            ("u2", ["z"], [0.1])], version="itemknn@t#f")
        assert written == 2
        got = read_precomputed(store, "u1")
        assert got is not None and got.items == ["x", "y"] and got.scores == [0.5, 0.25]
        assert got.version == "itemknn@t#f" and read_precomputed(store, "nobody") is None
        assert stale_shoppers(store) == []
        time.sleep(0.01)
        store.add_events([EventRecord("u2", "c", "purchase")])
        assert stale_shoppers(store) == ["u2"]
        write_precomputed(store, [("u2", ["q"], [1.0])], version="v2")  # replaces, not appends
        assert read_precomputed(store, "u2").items == ["q"]
    finally:
        store.close()
