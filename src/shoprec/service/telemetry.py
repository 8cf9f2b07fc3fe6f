"""What one serving process measures and records: Prometheus metrics, the exposure log of every
served list, and the batcher that scores concurrent requests' shoppers together (its batch
sizes are a metric too).

All three are per process: the batcher's queue lives on the worker's event loop, and the
exposure log's queue is flushed by a thread of the process that filled it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from sqlalchemy import Engine

from shoprec.engine.recommending import Ranked
from shoprec.experiments.exposure_queue import ExposureLog
from shoprec.service.batching import ScoreBatcher
from shoprec.service.metrics import ShopMetrics
from shoprec.service.settings import ServiceSettings
from shoprec.service.variants import Choice
from shoprec.store.experiment_tables import ExposureRow


class Telemetry:
    def __init__(self, engine: Engine, settings: ServiceSettings) -> None:
        self.metrics = ShopMetrics()
        self.batcher = ScoreBatcher(on_batch=self.metrics.score_batch.observe)
        self.exposures = ExposureLog(engine, settings.exposure_logging,
                                     settings.exposure_flush_s, settings.exposure_batch)

    def expose(self, request_id: str, user_id: str | None, choice: Choice, surface: str,
               item_type: str | None, ranked: Sequence[Ranked], started: float,
               status: int = 200) -> None:
        """Queue the exposure of `ranked` (in order) to `user_id` on `surface`; `started` is the
        request's perf_counter at its start (its latency is stored with it)."""
        self.exposures.record(ExposureRow(
            request_id, time.time(), user_id, choice.experiment, choice.variant, surface,
            item_type, json.dumps([r.item_id for r in ranked]),
            (time.perf_counter() - started) * 1000, status))

    def close(self) -> None:
        self.exposures.close()
