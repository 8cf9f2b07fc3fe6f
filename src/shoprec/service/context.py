"""Everything one running service holds: settings, store, catalogue, the serving model, metrics.

`serving` is replaced as a whole (one attribute assignment) when a retrain succeeds; requests
take it once, so in-flight ones finish on the bundle they started with.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import Request

from shoprec.service.catalogue import Catalogue
from shoprec.service.metrics import ShopMetrics
from shoprec.service.serving import Serving
from shoprec.service.settings import ServiceSettings
from shoprec.store import Store


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
        self.refresh_gauges()

    def swap(self, serving: Serving) -> None:
        self.serving = serving
        self.refresh_gauges()

    def refresh_gauges(self) -> None:
        self.metrics.catalogue_items.set(len(self.catalogue))
        self.metrics.model_items.set(self.serving.n_items)

    def close(self) -> None:
        self.store.close()


def get_context(request: Request) -> ServiceContext:
    return request.app.state.ctx
