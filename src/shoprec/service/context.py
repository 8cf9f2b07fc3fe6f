"""Everything one running service holds: settings, store, catalogue, the serving model, metrics.

`serving` is replaced as a whole (one attribute assignment) when a retrain succeeds; requests
take it once, so in-flight ones finish on the bundle they started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import Request

from shoprec.service.catalogue import Catalogue
from shoprec.service.metrics import ShopMetrics
from shoprec.service.serving import Serving
from shoprec.service.settings import ServiceSettings
from shoprec.store import ItemRecord, Store


class ServiceContext:
    def __init__(self, bundle_dir: Path, settings: ServiceSettings) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.settings = settings
        self.serving = Serving.load(self.bundle_dir)
        self.store = Store(settings.resolved_database_url(self.bundle_dir),
                           schema=settings.database_schema)
        self.seeded = self.store.seed_from_dataset(self.serving.bundle.dataset)
        self.catalogue = Catalogue.from_store(self.store)
        self.metrics = ShopMetrics()
        self.retrain_lock = threading.Lock()
        self.items_lock = threading.Lock()
        self._adopt_new_items(self.serving)
        self.refresh_gauges()
        self.warm_up(self.serving)

    def warm_up(self, serving: Serving) -> None:
        """With `search_warmup`, build the search index and the profiles' topics in the
        background (a failure here only means the first search builds it, or reports the error)."""
        if self.settings.search_warmup:
            threading.Thread(target=_quietly, args=(serving.insight.warm_up,), daemon=True).start()

    def swap(self, serving: Serving) -> None:
        """Replace the serving model; items added through the API since its data was read from
        the store are given to it too."""
        with self.items_lock:
            self._adopt_new_items(serving)
            self.serving = serving
        self.refresh_gauges()
        self.warm_up(serving)

    def _adopt_new_items(self, serving: Serving) -> None:
        missing = [self.catalogue.get(i) for i in self.catalogue.ids() if i not in serving.item_index]
        serving.add_catalogue_items([r for r in missing if r is not None])

    def add_to_model(self, serving: Serving, records: Sequence[ItemRecord]) -> list[str]:
        """Give new catalogue items to the serving model when it can rank them from text."""
        with self.items_lock:
            return serving.add_catalogue_items(records)

    def refresh_gauges(self) -> None:
        self.metrics.catalogue_items.set(len(self.catalogue))
        self.metrics.model_items.set(self.serving.n_items)

    def close(self) -> None:
        self.store.close()


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        logging.getLogger("shoprec.service").warning("search warm-up failed: %s", exc)


def get_context(request: Request) -> ServiceContext:
    return request.app.state.ctx
