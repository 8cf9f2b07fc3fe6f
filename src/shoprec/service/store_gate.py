"""The store as requests reach it: bounded writes, reads off the event loop when the store is
remote, and the fallbacks that keep lists answering while it is down.

Writes wait their turn here (`write`), not in threads, so a stalled database cannot take the
threads that reads need; a read that fails because the store is down, locked or saturated
(`is_outage`) gives None, and the caller serves popular items or the model's own list instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool

from shoprec.data.errors import DataError
from shoprec.distributed.precompute import bundle_version
from shoprec.engine.recommending import Ranked
from shoprec.engine.serving import Serving
from shoprec.service.errors import StoreUnavailable, is_outage, outage_reason
from shoprec.service.settings import ServiceSettings
from shoprec.store import EventRecord, Store
from shoprec.store.engine import erase_freed_bytes
from shoprec.store.experiment_tables import forget_user
from shoprec.store.precomputed import fresh_precomputed

T = TypeVar("T")
log = logging.getLogger("shoprec.service")
#: An empty store is filled from the bundle only when the operator says so: a store that went
#: missing must not come back silently as the bundle's older data.
_EMPTY = ("the store at {url} is empty (new, or lost); start with --seed (SHOPREC_SEED_STORE=1) "
          "to fill it from the bundle, or point SHOPREC_DATABASE_URL at the shop's store")


def _refuse_missing_sqlite(url: str) -> None:
    """Refuse before opening (which would create an empty file) when the SQLite file is gone."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.exists():
            raise DataError(_EMPTY.format(url=url))


def open_store(bundle_dir: Path, settings: ServiceSettings) -> Store:
    """The service's store; DataError when it is missing or empty and seeding was not asked."""
    url = settings.resolved_database_url(bundle_dir)
    if not settings.seed_store:
        _refuse_missing_sqlite(url)
    # a write answers within about write_timeout_s: half waiting for its turn, half for
    # the database's own lock
    store = Store(url, schema=settings.database_schema, busy_timeout_s=settings.write_timeout_s / 2)
    try:
        if not settings.seed_store and not store.is_seeded():
            raise DataError(_EMPTY.format(url=store.safe_url))
    except Exception:
        store.close()
        raise
    return store


class StoreGate:
    """One process's way to the store: the write gate and the outage fallbacks."""

    def __init__(self, store: Store, settings: ServiceSettings) -> None:
        self.store = store
        self.settings = settings
        # made on first use, on the event loop of this process (each worker has its own)
        self._write_gate: asyncio.Semaphore | None = None

    async def write(self, fn: Callable[..., T], *args: object) -> T:
        """Run a store write in a worker thread, at most a few at a time (SQLite: one, as it
        writes one at a time anyway). Writers wait here, not in threads, so a stalled database
        cannot take the threads that reads need; a wait over `write_timeout_s` answers 503."""
        if self._write_gate is None:
            sqlite = self.store.engine.dialect.name == "sqlite"
            self._write_gate = asyncio.Semaphore(1 if sqlite else 8)
        try:
            await asyncio.wait_for(self._write_gate.acquire(), self.settings.write_timeout_s / 2)
        except TimeoutError:
            raise StoreUnavailable(f"writes queued for over {self.settings.write_timeout_s:g} s"
                                   ) from None
        try:
            return await run_in_threadpool(fn, *args)
        finally:
            self._write_gate.release()

    async def read(self, read: Callable[..., T], *args: Any) -> T:
        """`read(*args)` inline when the store is a local file, else in the thread pool (a
        database over the network must not hold the event loop while it answers)."""
        if self.store.local:
            return read(*args)
        return await run_in_threadpool(read, *args)

    def recent_events(self, user_id: str) -> list[EventRecord]:
        """The shopper's most recent events, as many as recommendations and profiles read."""
        return self.store.user_events(user_id, limit=self.settings.max_history_events)

    def recent_events_or_none(self, user_id: str) -> list[EventRecord] | None:
        """The shopper's most recent events, or None when the store cannot be read."""
        try:
            return self.recent_events(user_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("store unreadable, serving popular items: %s", outage_reason(exc))
            return None

    def precomputed(self, user_id: str, serving: Serving, k: int) -> list[Ranked] | None:
        """The shopper's precomputed top-k when it is fresh and long enough; None otherwise (or
        when the store cannot say: the model answers then)."""
        try:
            found = fresh_precomputed(self.store, user_id, bundle_version(serving.bundle.manifest))
        except Exception as exc:
            if not is_outage(exc):
                raise
            return None
        if found is None or len(found.items) < k:
            return None
        return [Ranked(i, float(s), None) for i, s in zip(found.items[:k], found.scores[:k])]

    def forget_exposures_later(self, user_id: str) -> None:
        """Other workers may still hold a deleted shopper's exposures in their queues (at most
        one flush interval old): delete them from the store once more after two intervals and
        a little, so that with the default 0.25 s interval nothing of theirs is left 1 s after
        DELETE."""
        engine = self.store.engine

        def again() -> None:
            try:
                if forget_user(engine, user_id):
                    erase_freed_bytes(engine)
            except Exception as exc:  # noqa: BLE001 - logged; the next deletion tries again
                log.warning("removing %s's late exposures failed: %s", user_id, exc)

        timer = threading.Timer(2 * self.settings.exposure_flush_s + 0.25, again)
        timer.daemon = True
        timer.start()
