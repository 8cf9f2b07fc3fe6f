"""Operations: health, Prometheus metrics, and retraining with an atomic swap of the model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from shoprec.service.access import require_api_key
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import RETRY_AFTER_S, error_responses
from shoprec.service.retrain import RetrainResult, retrain_bundle
from shoprec.service.schemas import RetrainOut

router = APIRouter(tags=["operations"])
Ctx = Annotated[ServiceContext, Depends(get_context)]


@router.get("/health", responses={503: {"description": "the store cannot be read"}})
def health(ctx: Ctx) -> JSONResponse:
    """"ok" when the store reads and writes; "degraded" (200: recommendations still answer,
    from the model and, without the store, popular items) when it is read-only or locked;
    "down" (503) when it cannot be read."""
    serving = ctx.serving
    store = ctx.store.health()
    status = "ok" if store["write"] == "ok" else "degraded" if store["read"] == "ok" else "down"
    ctx.metrics.store_up.set(1 if status == "ok" else 0)
    body = {"status": status, "store": ctx.store.engine.dialect.name, "store_checks": store,
            "model": serving.version, "model_items": serving.n_items,
            "catalogue_items": len(ctx.catalogue),
            "events": ctx.store.count_events() if store["read"] == "ok" else None}
    return JSONResponse(body, status_code=503 if status == "down" else 200,
                        headers={"Retry-After": str(RETRY_AFTER_S)} if status != "ok" else None)


@router.get("/metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def run_retrain(ctx: ServiceContext) -> RetrainResult:
    """Retrain from the store and, when the candidate passes the gate, swap it in."""
    if not ctx.retrain_lock.acquire(blocking=False):
        raise HTTPException(409, "a retrain is already running")
    try:
        serving = ctx.serving
        result = retrain_bundle(ctx.bundle_dir, ctx.store, serving.bundle.dataset,
                                serving.bundle.manifest, ctx.settings.retrain_tolerance,
                                install=ctx.install)
        ctx.metrics.retrains.labels("swapped" if result.swapped else "kept").inc()
        return result
    finally:
        ctx.retrain_lock.release()


@router.post("/admin/retrain", response_model=RetrainOut,
             dependencies=[Depends(require_api_key)],
             responses=error_responses(401, 409, 429, 503))
async def retrain(ctx: Ctx) -> RetrainOut:
    """Build a new bundle from the store's catalogue and events; swap when not worse."""
    result = await run_in_threadpool(run_retrain, ctx)
    return RetrainOut(swapped=result.swapped, reason=result.reason,
                      serving=ctx.serving.version, candidate_metrics=result.candidate_metrics,
                      serving_metrics=result.serving_metrics, seconds=round(result.seconds, 3))
