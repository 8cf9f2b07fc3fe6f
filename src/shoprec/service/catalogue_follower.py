"""Keeps one serving process's catalogue in step with the store when other processes write it.

Under `shoprec serve --workers N` a `POST /items` reaches one worker; the others hold their own
`Catalogue` (and models that take new items from their text). Each process polls the store's
catalogue version (one point read every `POLL_S`), and when it grew, rereads the items written
since its last look (less a margin, for writes whose clock stamp was taken before a later one
committed) and applies them as `POST /items` does: catalogue, then the serving models. A look
that this process's own `POST /items` overtook is dropped and taken again, so rows read before
that write never replace it (a card would show the old category for up to one poll).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from shoprec.engine.catalogue import Catalogue
from shoprec.store import ItemRecord, Store

log = logging.getLogger("shoprec.service")
POLL_S = 0.5
#: Items stamped up to this long before the last look are read again (clock stamps are taken
#: before a write waits for its turn, so commits can land out of stamp order).
MARGIN_S = 60.0


class CatalogueFollower:
    """A daemon thread that applies other processes' catalogue writes to this one."""

    def __init__(self, store: Store, catalogue: Catalogue,
                 apply: Callable[[Sequence[ItemRecord]], None]) -> None:
        self.store, self.catalogue, self.apply = store, catalogue, apply
        self.seen = store.catalogue_version()
        self.looked_at = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalogue-follower", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.sync()
            except Exception as exc:  # noqa: BLE001 - the store may be down: try again next time
                log.debug("catalogue follower: %s", exc)

    def sync(self) -> int:
        """Apply what changed since the last look; the number of items read."""
        local = self.catalogue.version  # before the reads: a write of ours after them wins
        version = self.store.catalogue_version()
        if version == self.seen:
            return 0
        now = time.time()
        records = self.store.items_updated_since(self.looked_at - MARGIN_S)
        if not self.catalogue.update(records, if_version=local):
            return 0  # this process wrote meanwhile: what was read may be older; read again
        self.apply(records)
        self.seen, self.looked_at = version, now
        return len(records)

    def close(self) -> None:
        self._stop.set()
