"""Operations: health, Prometheus metrics, and retraining as a job (its own process) whose new
generation every worker picks up."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from shoprec.data.errors import DataError
from shoprec.service.access import require_api_key
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import RETRY_AFTER_S, error_responses
from shoprec.service.retrain_job import last_job, launch, read_job
from shoprec.service.schemas import RetrainJobOut, RetrainQueued

router = APIRouter(tags=["operations"])
Ctx = Annotated[ServiceContext, Depends(get_context)]
log = logging.getLogger("shoprec.service")


@router.get("/health", responses={503: {"description": "the store cannot be read"}})
def health(ctx: Ctx) -> JSONResponse:
    """"ok" when the store reads and writes; "degraded" (200: recommendations still answer,
    from the model and, without the store, popular items) when it is read-only or locked;
    "down" (503) when it cannot be read. Also: the serving generation, the number of worker
    processes, the last retrain job and the search index ("building", "ready", "on first
    search")."""
    serving = ctx.serving
    store = ctx.store.health()
    status = "ok" if store["write"] == "ok" else "degraded" if store["read"] == "ok" else "down"
    ctx.metrics.store_up.set(1 if status == "ok" else 0)
    body = {"status": status, "store": ctx.store.engine.dialect.name, "store_checks": store,
            "model": serving.version, "model_items": serving.n_items,
            "generation": serving.generation, "workers": ctx.workers, "pid": os.getpid(),
            "last_retrain": _summary(last_job(ctx.bundle_dir)),
            "catalogue_items": len(ctx.catalogue),
            "search_index": ctx.warming.state(serving),  # "building" while search answers 503
            "events": ctx.store.count_events() if store["read"] == "ok" else None}
    return JSONResponse(body, status_code=503 if status == "down" else 200,
                        headers={"Retry-After": str(RETRY_AFTER_S)} if status != "ok" else None)


def _summary(job: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if job is None else {k: v for k, v in job.items() if k != "traceback"}


@router.get("/metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def start_retrain(ctx: ServiceContext) -> dict[str, Any] | None:
    """Launch a retrain job's process and watch it end (service log, metrics); None when a job
    is already running (in any worker), DataError while an experiment runs."""
    started = launch(ctx.bundle_dir, ctx.settings)
    if started is None:
        return None
    job, proc = started
    threading.Thread(target=_watch, args=(ctx, job["job"], proc), daemon=True).start()
    return job


def _watch(ctx: ServiceContext, job_id: str, proc: subprocess.Popen) -> None:
    proc.wait()
    job = read_job(ctx.bundle_dir, job_id) or {"state": "failed", "reason": "no job file"}
    ctx.metrics.retrains.labels(job["state"]).inc()
    (log.error if job["state"] == "failed" else log.info)(
        "retrain job %s: %s: %s", job_id, job["state"], job["reason"])


@router.post("/admin/retrain", response_model=RetrainQueued, status_code=202,
             dependencies=[Depends(require_api_key)],
             responses=error_responses(401, 409, 429, 503))
async def retrain(ctx: Ctx) -> RetrainQueued:
    """Start a retrain job and answer at once: a challenger is fitted in a process of its own
    on the store's events, compared with the serving champion on the same fresh shoppers, and
    published as a new generation (every worker swaps to it) when not worse. Poll
    GET /admin/retrain/{job}. Refused (409) while an experiment runs: its control would change."""
    try:
        job = await run_in_threadpool(start_retrain, ctx)
    except DataError as exc:  # an experiment runs
        raise HTTPException(409, str(exc)) from None
    if job is None:
        raise HTTPException(409, "a retrain job is already running")
    return RetrainQueued(job=job["job"], state="queued")


@router.get("/admin/retrain/{job}", response_model=RetrainJobOut,
            dependencies=[Depends(require_api_key)], responses=error_responses(401, 404, 422, 429))
def retrain_job(ctx: Ctx, job: Annotated[str, PathParam(max_length=40)]) -> RetrainJobOut:
    """A retrain job's state: queued, running, swapped, kept or failed, with both figures."""
    found = read_job(ctx.bundle_dir, job)
    if found is None:
        raise HTTPException(404, f"no retrain job {job!r}")
    return RetrainJobOut(**found)
