"""What serves in this process: the bundle's current generation and an experiment's variants,
and every change of them (a new generation on disk, a shopper's deletion, new catalogue items).

`serving` is replaced as a whole (one attribute assignment) when a new generation of the bundle
serves (a retrain job published it, or a rollback) or a shopper is deleted; requests take it
once, so in-flight ones finish on the bundle they started with. Each serving process (the single
one, or each worker of `shoprec serve --workers N`, a fresh interpreter with its own locks)
notices a new generation itself (`check_generation`, at most twice a second, the load in a
background thread). `bundle_lock` orders this process's changes of the serving model;
`generations.files_lock` orders changes of bundle files across processes.

A running experiment (`BUNDLE.experiment.json`) is followed the same way: `token` covers the
generation and the experiment file, and `arms` (the variants' bundles) is replaced whole when
the experiment changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.reading import get_reader
from shoprec.engine.recommending import recommend
from shoprec.engine.serving import Serving, adopt_new_items
from shoprec.experiments.lifecycle import experiment_token, running_experiment
from shoprec.generations import (
    files_lock,
    generation_path,
    generation_token,
    generations,
    serving_path,
)
from shoprec.privacy.forget import forget_in_bundles
from shoprec.service.gc_freeze import freeze_heap
from shoprec.service.metrics import ShopMetrics
from shoprec.service.settings import ServiceSettings
from shoprec.service.variants import Arms, Choice, load_arms
from shoprec.service.warming import SearchWarmUp
from shoprec.store import EventRecord, ItemRecord

log = logging.getLogger("shoprec.service")
#: Seconds between two looks at the bundle's generation token.
CHECK_EVERY_S = 0.5


def disk_token(bundle_dir: Path) -> tuple[str, str]:
    """What serves on disk: the bundle's generation and the experiment file."""
    return generation_token(bundle_dir), experiment_token(bundle_dir)


class OnDisk(NamedTuple):
    """What serves on disk, loaded: read before the store is seeded from its data."""

    token: tuple[str, str]
    generation: int
    serving: Serving
    arms: Arms


def load_on_disk(bundle_dir: Path) -> OnDisk:
    token = disk_token(bundle_dir)
    generation, path = serving_path(bundle_dir)
    with files_lock(bundle_dir, shared=True):
        serving = Serving.load(path)
    return OnDisk(token, generation, serving, load_arms(running_experiment(bundle_dir)))


class ServingState:
    """The serving model and the variants of this process, and the one way each changes."""

    def __init__(self, bundle_dir: Path, settings: ServiceSettings, catalogue: Catalogue,
                 loaded: OnDisk, metrics: ShopMetrics) -> None:
        self.bundle_dir, self.settings, self.catalogue = bundle_dir, settings, catalogue
        self.metrics = metrics  # the catalogue and model size gauges follow each change
        self.token, self.generation = loaded.token, loaded.generation
        self.serving, self.arms = loaded.serving, loaded.arms
        self.items_lock = threading.Lock()
        self.bundle_lock = threading.Lock()
        self._next_check = 0.0
        self._loading = threading.Lock()
        get_reader(settings.chat_reader)  # an unknown reader stops the start, not each chat
        self.warming = SearchWarmUp(settings.search_wait_s, settings.chat_reader)  # warming.py
        adopt_new_items(self.serving, catalogue)
        for variant in self.arms.servings.values():
            adopt_new_items(variant, catalogue)

    def pick(self, user_id: str | None) -> Choice:
        """The serving model for this request: the shopper's variant when an experiment runs."""
        return self.arms.pick(self.serving, user_id)

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
            adopt_new_items(serving, self.catalogue)
            self.serving = serving
        self.refresh_gauges()

    def check_generation(self) -> None:
        """Start loading a new generation in the background when the bundle's generation token
        changed; looks at most every CHECK_EVERY_S seconds (a readlink and a stat)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        if disk_token(self.bundle_dir) != self.token and self._loading.acquire(False):
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
                token = disk_token(self.bundle_dir)
                if token == self.token:
                    return False
                new_generation = token[0] != self.token[0]
                generation, path = serving_path(self.bundle_dir)
                serving = Serving.load(path) if new_generation else None
                arms = load_arms(running_experiment(self.bundle_dir), self.arms)
            for variant in arms.servings.values():
                adopt_new_items(variant, self.catalogue)
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
            self.token = disk_token(self.bundle_dir)
        return serving is not None

    def add_to_model(self, serving: Serving, records: Sequence[ItemRecord]) -> list[str]:
        """Give new catalogue items to the serving model when it can rank them from text."""
        with self.items_lock:
            return serving.add_catalogue_items(records)

    def take_new_items(self, records: Sequence[ItemRecord]) -> None:
        """Items another process wrote to the store: to the serving models, as POST /items."""
        self.add_to_model(self.serving, records)
        self.refresh_gauges()

    def refresh_gauges(self) -> None:
        self.metrics.catalogue_items.set(len(self.catalogue))
        self.metrics.model_items.set(self.serving.n_items)
