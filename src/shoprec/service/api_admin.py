"""Operations: health, Prometheus metrics, and retraining with an atomic swap of the model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from shoprec.service.context import ServiceContext, get_context
from shoprec.service.errors import require_api_key
from shoprec.service.retrain import RetrainResult, retrain_bundle
from shoprec.service.schemas import RetrainOut
from shoprec.service.serving import Serving

router = APIRouter(tags=["operations"])
Ctx = Annotated[ServiceContext, Depends(get_context)]


@router.get("/health")
def health(ctx: Ctx) -> dict[str, Any]:
    """Up, with the serving bundle and the store's size (the store is queried, so a dead
    database shows here)."""
    serving = ctx.serving
    return {"status": "ok", "model": serving.version, "model_items": serving.n_items,
            "catalogue_items": len(ctx.catalogue), "events": ctx.store.count_events(),
            "store": ctx.store.engine.dialect.name}


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
                                serving.bundle.manifest, ctx.settings.retrain_tolerance)
        if result.swapped:
            try:
                ctx.swap(Serving.load(ctx.bundle_dir))
            except Exception as exc:  # noqa: BLE001 - keep serving the model in memory
                result.swapped = False
                result.reason += f"; loading the new bundle failed, old model kept: {exc}"
        ctx.metrics.retrains.labels("swapped" if result.swapped else "kept").inc()
        return result
    finally:
        ctx.retrain_lock.release()


@router.post("/admin/retrain", response_model=RetrainOut,
             dependencies=[Depends(require_api_key)])
async def retrain(ctx: Ctx) -> RetrainOut:
    """Build a new bundle from the store's catalogue and events; swap when not worse."""
    result = await run_in_threadpool(run_retrain, ctx)
    return RetrainOut(swapped=result.swapped, reason=result.reason,
                      serving=ctx.serving.version, candidate_metrics=result.candidate_metrics,
                      serving_metrics=result.serving_metrics, seconds=round(result.seconds, 3))
