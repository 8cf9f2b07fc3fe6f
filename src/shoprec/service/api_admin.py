"""Operations: health, Prometheus metrics, and retraining as a job (its own process) whose new
generation every worker picks up."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from shoprec.data.errors import DataError
from shoprec.service.context import ServiceContext
from shoprec.service.deps import Measures, Service, ShopKey
from shoprec.service.errors import RETRY_AFTER_S, error_responses
from shoprec.service.retrain_job import last_job, read_job
from shoprec.service.retrain_watch import start_retrain
from shoprec.service.schemas import HealthOut, RetrainJobOut, RetrainQueued

router = APIRouter(tags=["operations"])


def health_body(ctx: ServiceContext) -> dict[str, Any]:
    """The health figures; "status" from the store's read and write checks."""
    serving = ctx.serving
    store = ctx.store.health()
    status = "ok" if store["write"] == "ok" else "degraded" if store["read"] == "ok" else "down"
    ctx.telemetry.metrics.store_up.set(1 if status == "ok" else 0)
    return {"status": status, "store": ctx.store.engine.dialect.name, "store_checks": store,
            "model": serving.version, "model_items": serving.n_items,
            "generation": serving.generation, "workers": ctx.workers, "pid": os.getpid(),
            "last_retrain": _summary(last_job(ctx.bundle_dir)),
            "catalogue_items": len(ctx.catalogue),
            "search_index": ctx.state.warming.state(serving),  # "building": search answers 503
            "events": ctx.store.count_events() if store["read"] == "ok" else None}


@router.get("/health", response_model=HealthOut,
            responses={503: {"description": "the store cannot be read"}})
def health(ctx: Service) -> JSONResponse:
    """"ok" when the store reads and writes; "degraded" (200: recommendations still answer,
    from the model and, without the store, popular items) when it is read-only or locked;
    "down" (503) when it cannot be read. Also: the serving generation, the number of worker
    processes, the last retrain job and the search index ("building", "ready", "on first
    search")."""
    body = health_body(ctx)
    status = body["status"]
    return JSONResponse(body, status_code=503 if status == "down" else 200,
                        headers={"Retry-After": str(RETRY_AFTER_S)} if status != "ok" else None)


def _summary(job: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if job is None else {k: v for k, v in job.items() if k != "traceback"}


@router.get("/metrics", response_class=Response, response_model=None)
def metrics(measures: Measures) -> Response:
    """Prometheus metrics of this process (text exposition format)."""
    return Response(measures.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


@router.post("/admin/retrain", response_model=RetrainQueued, status_code=202,
             dependencies=[ShopKey], responses=error_responses(401, 409, 429, 503))
async def retrain(ctx: Service) -> RetrainQueued:
    """Start a retrain job and answer at once: a challenger is fitted in a process of its own
    on the store's events, compared with the serving champion on the same fresh shoppers, and
    published as a new generation (every worker swaps to it) when not worse. Poll
    GET /admin/retrain/{job}. Refused (409) while an experiment runs: its control would change."""
    try:
        job = await run_in_threadpool(start_retrain, ctx.bundle_dir, ctx.settings,
                                      ctx.telemetry.metrics.retrains)
    except DataError as exc:  # an experiment runs
        raise HTTPException(409, str(exc)) from None
    if job is None:
        raise HTTPException(409, "a retrain job is already running")
    return RetrainQueued(job=job["job"], state="queued")


@router.get("/admin/retrain/{job}", response_model=RetrainJobOut, dependencies=[ShopKey],
            responses=error_responses(401, 404, 422, 429))
def retrain_job(ctx: Service, job: Annotated[str, PathParam(max_length=40)]) -> RetrainJobOut:
    """A retrain job's state: queued, running, swapped, kept or failed, with both figures."""
    found = read_job(ctx.bundle_dir, job)
    if found is None:
        raise HTTPException(404, f"no retrain job {job!r}")
    return RetrainJobOut(**found)
