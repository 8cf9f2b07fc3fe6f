"""One running service, put together: the store gate, the serving state and the telemetry of
this process, opened in the order they need each other.

The parts have their own modules: `store_gate` (the store, the write gate, the outage
fallbacks), `serving_state` (generations, experiment arms, swap, forget, warm-up) and
`telemetry` (metrics, exposure log, score batcher). Routes take the part they use through
`service.deps`; this object only opens, wires and closes them. `catalogue_follower` applies
other processes' catalogue writes to this one.
"""

from __future__ import annotations

from pathlib import Path

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.serving import Serving
from shoprec.experiments.exposure_queue import ExposureLog
from shoprec.service.catalogue_follower import CatalogueFollower
from shoprec.service.serving_state import ServingState, load_on_disk
from shoprec.service.settings import ServiceSettings
from shoprec.service.store_gate import StoreGate, open_store
from shoprec.service.telemetry import Telemetry
from shoprec.service.throttle import AuthFailures


class ServiceContext:
    def __init__(self, bundle_dir: Path, settings: ServiceSettings) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.settings = settings
        self.store = open_store(self.bundle_dir, settings)
        try:
            loaded = load_on_disk(self.bundle_dir)
            self.seeded = (not self.store.is_seeded()
                           and self.store.seed_from_dataset(loaded.serving.bundle.dataset))
        except Exception:
            self.store.close()
            raise
        self.catalogue = Catalogue.from_store(self.store)
        self.gate = StoreGate(self.store, settings)
        self.telemetry = Telemetry(self.store.engine, settings)
        self.auth_failures = AuthFailures(settings.auth_failures_allowed,
                                          settings.auth_failure_window_s)
        self.workers = 1  # processes serving this bundle (`shoprec serve --workers`)
        self.state = ServingState(self.bundle_dir, settings, self.catalogue, loaded,
                                  self.telemetry.metrics)
        self.catalogue_follower = CatalogueFollower(self.store, self.catalogue,
                                                    self.state.take_new_items)
        self.state.refresh_gauges()
        self.state.warm_up(self.state.serving)

    @property
    def serving(self) -> Serving:
        """The model serving now (taken once per request: a swap replaces it whole)."""
        return self.state.serving

    @property
    def exposures(self) -> ExposureLog:
        return self.telemetry.exposures

    def close(self) -> None:
        self.catalogue_follower.close()
        self.telemetry.close()
        self.store.close()
