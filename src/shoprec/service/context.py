"""Everything one running service holds: settings, store, catalogue, the serving model, metrics.

`serving` is replaced as a whole (one attribute assignment) when a new generation of the bundle
serves (a retrain job published it, or a rollback) or a shopper is deleted; requests take it
once, so in-flight ones finish on the bundle they started with. Each serving process (the single
one, or each worker of `shoprec serve --workers N`) notices a new generation itself
(`check_generation`, at most twice a second, the load in a background thread), and
`catalogue_follower` applies other processes' catalogue writes. `bundle_lock` orders this
process's changes of the serving model; `generations.files_lock` orders changes of bundle files
across processes.

A running experiment (`BUNDLE.experiment.json`) is followed the same way: `token` covers the
generation and the experiment file, and `arms` (the variants' bundles) is replaced whole when
the experiment changes. `exposures` queues every served list for the store (batched writes).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from shoprec.data.errors import DataError
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.reading import get_reader
from shoprec.engine.recommending import recommend
from shoprec.engine.serving import Serving, adopt_new_items
from shoprec.experiments.config import experiment_token, running_experiment
from shoprec.experiments.exposures import ExposureLog
from shoprec.generations import (
    files_lock,
    generation_path,
    generation_token,
    generations,
    serving_path,
)
from shoprec.privacy.forget import forget_in_bundles
from shoprec.service.batching import ScoreBatcher
from shoprec.service.catalogue_follower import CatalogueFollower
from shoprec.service.errors import StoreUnavailable
from shoprec.service.heap import freeze_heap
from shoprec.service.metrics import ShopMetrics
from shoprec.service.settings import ServiceSettings
from shoprec.service.throttle import AuthFailures
from shoprec.service.variants import Arms, Choice, load_arms
from shoprec.service.warming import SearchWarmUp
from shoprec.store import EventRecord, ItemRecord, Store
from shoprec.store.engine import erase_freed_bytes
from shoprec.store.exposures import forget_user

T = TypeVar("T")
log = logging.getLogger("shoprec.service")
#: Seconds between two looks at the bundle's generation token.
CHECK_EVERY_S = 0.5
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


class ServiceContext:
    def __init__(self, bundle_dir: Path, settings: ServiceSettings) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.settings = settings
        url = settings.resolved_database_url(self.bundle_dir)
        if not settings.seed_store:
            _refuse_missing_sqlite(url)
        # a write answers within about write_timeout_s: half waiting for its turn, half for
        # the database's own lock
        self.store = Store(url, schema=settings.database_schema,
                           busy_timeout_s=settings.write_timeout_s / 2)
        try:
            if not settings.seed_store and not self.store.is_seeded():
                raise DataError(_EMPTY.format(url=self.store.safe_url))
            self.token = self.disk_token()
            self.generation, path = serving_path(self.bundle_dir)
            with files_lock(self.bundle_dir, shared=True):
                self.serving = Serving.load(path)
            self.arms: Arms = load_arms(running_experiment(self.bundle_dir))
            self.seeded = (not self.store.is_seeded()
                           and self.store.seed_from_dataset(self.serving.bundle.dataset))
        except Exception:
            self.store.close()
            raise
        self.catalogue = Catalogue.from_store(self.store)
        self.metrics = ShopMetrics()
        # per worker: its queue lives on the worker's event loop
        self.batcher = ScoreBatcher(on_batch=self.metrics.score_batch.observe)
        self.auth_failures = AuthFailures(settings.auth_failures_allowed,
                                          settings.auth_failure_window_s)
        self.items_lock = threading.Lock()
        self.bundle_lock = threading.Lock()
        self.workers = 1  # processes serving this bundle (`shoprec serve --workers`)
        self._next_check = 0.0
        get_reader(settings.chat_reader)  # an unknown reader stops the start, not each chat
        self.warming = SearchWarmUp(settings.search_wait_s, settings.chat_reader)  # warming.py
        self._loading = threading.Lock()
        self._write_gate: asyncio.Semaphore | None = None
        self._adopt_new_items(self.serving)
        for variant in self.arms.servings.values():
            self._adopt_new_items(variant)
        self.exposures = ExposureLog(self.store.engine, settings.exposure_logging,
                                     settings.exposure_flush_s, settings.exposure_batch)
        self.catalogue_follower = CatalogueFollower(self.store, self.catalogue,
                                                    self._take_new_items)
        self.refresh_gauges()
        self.warm_up(self.serving)

    def disk_token(self) -> tuple[str, str]:
        """What serves on disk: the bundle's generation and the experiment file."""
        return generation_token(self.bundle_dir), experiment_token(self.bundle_dir)

    def pick(self, user_id: str | None) -> Choice:
        """The serving model for this request: the shopper's variant when an experiment runs."""
        return self.arms.pick(self.serving, user_id)

    async def store_write(self, fn: Callable[..., T], *args: object) -> T:
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

    def recent_events(self, user_id: str) -> list[EventRecord]:
        """The shopper's most recent events, as many as recommendations and profiles read."""
        return self.store.user_events(user_id, limit=self.settings.max_history_events)

    def warm_up(self, serving: Serving) -> None:
        """With `search_warmup`, build the search index and the profiles' topics in the
        background, then rehearse one search (a failure here only means the first search builds
        it, or reports the error). The process serves meanwhile: see service/warming.py."""
        if self.settings.search_warmup:
            self.warming.start(serving, self.catalogue)

    def require_search(self, serving: Serving) -> None:
        """Before a request that needs `serving`'s text index: a bounded wait for the warm-up,
        then 503 with Retry-After (`SearchWarmUp.require`)."""
        self.warming.require(serving)

    def rehearse(self) -> None:
        """Answer one recommendation through the engine, so this process's first real request
        costs what the rest do (first-run code paths, caches built on first use). It does not
        wait for the search warm-up, which rehearses a search itself once the index is built."""
        serving = self.serving
        if not serving.n_items:
            return
        first = serving.item_ids[int(serving.popularity.argmax())]
        recommend(serving, [EventRecord("warm-up", first, "view")], self.catalogue, 10)

    def swap(self, serving: Serving) -> None:
        """Replace the serving model; items added through the API since its data was read from
        the store are given to it too."""
        with self.items_lock:
            self._adopt_new_items(serving)
            self.serving = serving
        self.refresh_gauges()

    def check_generation(self) -> None:
        """Start loading a new generation in the background when the bundle's generation token
        changed; looks at most every CHECK_EVERY_S seconds (a readlink and a stat)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        if self.disk_token() != self.token and self._loading.acquire(False):
            threading.Thread(target=self._reload_in_background, daemon=True).start()

    def _reload_in_background(self) -> None:
        try:
            if self.reload():
                freeze_heap()  # the new generation's objects join the frozen heap
        except Exception:
            log.exception("loading the new generation of %s failed", self.bundle_dir)
        finally:
            self._loading.release()

    def reload(self) -> bool:
        """Load and swap in what serves on disk now, if it changed; True when it did."""
        with self.bundle_lock:
            with files_lock(self.bundle_dir, shared=True):
                token = self.disk_token()
                if token == self.token:
                    return False
                new_generation = token[0] != self.token[0]
                generation, path = serving_path(self.bundle_dir)
                serving = Serving.load(path) if new_generation else None
                arms = load_arms(running_experiment(self.bundle_dir), self.arms)
            for variant in arms.servings.values():
                self._adopt_new_items(variant)
            self.token, self.arms = token, arms
            if serving is not None:
                self.generation = generation
                self.swap(serving)
        if serving is not None:
            log.info("serving generation %d: %s", generation, serving.version)
            self.warm_up(serving)
        if arms.experiment is not None:
            log.info("experiment %s: variants %s", arms.experiment.id,
                     ", ".join(arms.experiment.variant_names))
        return True

    def forget(self, user_id: str) -> bool:
        """Remove a deleted shopper from the serving bundle (files and memory) at once, and from
        every other kept generation's files (so no rollback brings them back); True when the
        serving bundle held them."""
        with self.bundle_lock, files_lock(self.bundle_dir):
            generation, path = serving_path(self.bundle_dir)
            if generation != self.generation or not self.serving.bundle.path.is_dir():
                self.generation = generation  # a new generation serves on disk: use it now
                self.swap(Serving.load(path))
            serving = self.serving.without_shopper(user_id)
            if serving is not None:
                self.swap(serving)
            forget_in_bundles([generation_path(self.bundle_dir, g)
                               for g in generations(self.bundle_dir) if g != generation]
                              + self.arms.paths(), user_id)
            if self.arms.servings:  # the variants' bundles were rewritten: load them again
                self.arms = load_arms(self.arms.experiment)
            self.token = self.disk_token()
        return serving is not None

    def forget_exposures_later(self, user_id: str) -> None:
        """Other workers may still hold a deleted shopper's exposures in their queues (at most
        one flush interval old): delete them from the store once more after two intervals."""
        def again() -> None:
            try:
                if forget_user(self.store.engine, user_id):
                    erase_freed_bytes(self.store.engine)
            except Exception as exc:  # noqa: BLE001 - logged; the next deletion tries again
                log.warning("removing %s's late exposures failed: %s", user_id, exc)

        timer = threading.Timer(2 * self.settings.exposure_flush_s + 0.5, again)
        timer.daemon = True
        timer.start()

    def _adopt_new_items(self, serving: Serving) -> None:
        adopt_new_items(serving, self.catalogue)

    def add_to_model(self, serving: Serving, records: Sequence[ItemRecord]) -> list[str]:
        """Give new catalogue items to the serving model when it can rank them from text."""
        with self.items_lock:
            return serving.add_catalogue_items(records)

    def _take_new_items(self, records: Sequence[ItemRecord]) -> None:
        """Items another process wrote to the store: to the serving models, as POST /items."""
        self.add_to_model(self.serving, records)
        self.refresh_gauges()

    def refresh_gauges(self) -> None:
        self.metrics.catalogue_items.set(len(self.catalogue))
        self.metrics.model_items.set(self.serving.n_items)

    def close(self) -> None:
        self.catalogue_follower.close()
        self.exposures.close()
        self.store.close()


async def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    ctx.check_generation()
    return ctx
