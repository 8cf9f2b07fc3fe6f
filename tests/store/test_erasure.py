"""A deleted shopper leaves no byte in the SQLite files (issue 24, item 6).

secure_delete zeroes a row where it is deleted, but index pages split while the shop grew keep
stale copies of cells in their free space. The control proves the test can fail: the same
deletions followed by the log checkpoint alone (what DELETE did before) leave ids behind.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from shoprec.store import EventRecord, Store
from shoprec.store import store as store_module
from shoprec.store.engine import checkpoint

SHOPPERS, DELETED, EVENTS_EACH = 600, 60, 25


def grow_shop(path: Path) -> tuple[Store, list[str]]:
    """A store whose shoppers' ids interleave in index order, events arriving shuffled (as a
    live shop's do), so index pages split under them; returns it and the shoppers to delete."""
    rng = random.Random(24)
    users = [f"{rng.getrandbits(40):010x}-shopper-{n:04d}" for n in range(SHOPPERS)]
    rows = [EventRecord(user_id=u, item_id=f"item-{rng.randrange(300)}", event="view",
                        timestamp=1_000 + k, event_id=f"{u}-{k}")
            for u in users for k in range(EVENTS_EACH)]
    rng.shuffle(rows)
    store = Store(f"sqlite:///{path}")
    for lo in range(0, len(rows), 100):
        store.add_events(rows[lo : lo + 100])
    return store, users[:: SHOPPERS // DELETED]


def ids_in_files(folder: Path, ids: list[str]) -> list[str]:
    data = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    return [u for u in ids if u.encode() in data]


def test_no_byte_of_a_deleted_shopper_stays_in_the_database_files(tmp_path: Path) -> None:
    store, deleted = grow_shop(tmp_path / "shop.sqlite")
    for user in deleted:
        assert store.delete_user(user) == EVENTS_EACH
    store.close()
    assert ids_in_files(tmp_path, deleted) == []
    kept = Store(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    assert kept.count_events() == (SHOPPERS - DELETED) * EVENTS_EACH
    kept.close()


def test_control_the_checkpoint_alone_leaves_ids_in_index_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "erase_freed_bytes", checkpoint)
    store, deleted = grow_shop(tmp_path / "shop.sqlite")
    for user in deleted:
        store.delete_user(user)
    store.close()
    assert ids_in_files(tmp_path, deleted), "the control found nothing: the test cannot fail"
