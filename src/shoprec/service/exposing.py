"""Recording a served list: one call per response, a queue append (see ExposureLog)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from shoprec.engine.recommending import Ranked
from shoprec.service.context import ServiceContext
from shoprec.service.variants import Choice
from shoprec.store.exposures import ExposureRow


def expose(ctx: ServiceContext, request_id: str, user_id: str | None, choice: Choice,
           surface: str, item_type: str | None, ranked: Sequence[Ranked], started: float,
           status: int = 200) -> None:
    """Queue the exposure of `ranked` (in order) to `user_id` on `surface`; `started` is the
    request's perf_counter at its start (its latency is stored with it)."""
    ctx.exposures.record(ExposureRow(
        request_id, time.time(), user_id, choice.experiment, choice.variant, surface, item_type,
        json.dumps([r.item_id for r in ranked]), (time.perf_counter() - started) * 1000, status))
