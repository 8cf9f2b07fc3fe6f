"""Experiments over HTTP (the shop's key): start, read, ramp, stop, promote; and the overview
the operator dashboard draws (traffic, latency, bundle generations, retrain results).

Thin routes over `shoprec.experiments`: the experiment lives in the file beside the bundle, so
this process applies a change at once (`ServingState.reload`) and every other worker within half a
second (its token changes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from shoprec.data.errors import DataError
from shoprec.experiments import lifecycle
from shoprec.experiments.attribution import load_readout
from shoprec.experiments.promotion import promote, stop
from shoprec.service.context import ServiceContext
from shoprec.service.dashboard import overview
from shoprec.service.deps import Service, ShopKey
from shoprec.service.errors import error_responses
from shoprec.service.schemas import (
    ExperimentIn,
    ExperimentOut,
    ExperimentsOut,
    OverviewOut,
    PromotedOut,
    PromoteIn,
    RampIn,
    ReadoutOut,
)

router = APIRouter(tags=["experiments"], dependencies=[ShopKey])
ExpId = Annotated[str, PathParam(max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]


async def _apply(ctx: ServiceContext) -> None:
    """This process applies the change before answering; under `--workers` the other workers
    follow within about a second (`check_generation`), as for a new generation."""
    await run_in_threadpool(ctx.state.reload)


def _readout(ctx: ServiceContext, exp: lifecycle.Experiment) -> dict[str, Any]:
    ctx.telemetry.exposures.flush()  # this process's latest lists count too
    return load_readout(ctx.store.engine, exp, ctx.catalogue.has_prices())


@router.get("/admin/experiments", response_model=ExperimentsOut,
            responses=error_responses(401, 429))
def list_experiments(ctx: Service) -> dict[str, Any]:
    """The running experiment's readout (null when none runs) and every finished one."""
    found = lifecycle.all_experiments(ctx.bundle_dir)
    running = next((e for e in found if e.state == "running"), None)
    return {"running": _readout(ctx, running) if running else None,
            "finished": [e.to_json() for e in found if e.state != "running"]}


@router.get("/admin/experiments/{exp_id}", response_model=ReadoutOut,
            responses=error_responses(401, 404, 429))
def read_experiment(ctx: Service, exp_id: ExpId) -> dict[str, Any]:
    """One experiment's readout: per variant CTR, add-to-cart, conversion, revenue with 95%
    intervals, lift over the control, SRM p-value, guardrails, the stopping rule's decision and
    the series the charts draw."""
    try:
        exp = lifecycle.find_experiment(ctx.bundle_dir, exp_id)
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None
    return _readout(ctx, exp)


@router.post("/admin/experiments", status_code=201, response_model=ExperimentOut,
             responses=error_responses(400, 401, 409, 422, 429))
async def start_experiment(ctx: Service, body: ExperimentIn) -> dict[str, Any]:
    """Start serving the variants side by side (shoppers split by a salted hash of their id)."""
    variants = [lifecycle.Variant(v.name, v.bundle, v.weight) for v in body.variants]
    rule = lifecycle.StoppingRule(min_detectable_lift=body.min_detectable_lift,
                               exposures_per_variant=body.exposures_per_variant)
    try:
        exp = lifecycle.new_experiment(body.name, variants, body.ramp, rule)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    return await _change(ctx, lambda: lifecycle.start(ctx.bundle_dir, exp))


@router.post("/admin/experiments/{exp_id}/ramp", response_model=ExperimentOut,
             responses=error_responses(400, 401, 409, 422, 429))
async def ramp_experiment(ctx: Service, exp_id: ExpId, body: RampIn) -> dict[str, Any]:
    return await _change(ctx, lambda: lifecycle.set_ramp(ctx.bundle_dir, exp_id, body.ramp))


@router.post("/admin/experiments/{exp_id}/stop", response_model=ExperimentOut,
             responses=error_responses(401, 409, 429))
async def stop_experiment(ctx: Service, exp_id: ExpId) -> dict[str, Any]:
    """End the experiment; every shopper gets the serving bundle again."""
    return await _change(ctx, lambda: stop(ctx.bundle_dir, exp_id))


async def _change(ctx: ServiceContext, change: Callable[[], lifecycle.Experiment]
                  ) -> dict[str, Any]:
    """Apply a change to the experiment file (409 when it does not fit the running one), then
    roll it out to this process or the workers."""
    try:
        exp = change()
    except DataError as exc:
        raise HTTPException(409, str(exc)) from None
    await _apply(ctx)
    return exp.to_json()


@router.post("/admin/experiments/{exp_id}/promote", response_model=PromotedOut,
             responses=error_responses(400, 401, 409, 422, 429))
async def promote_experiment(ctx: Service, exp_id: ExpId, body: PromoteIn | None = None
                             ) -> dict[str, Any]:
    """Make a variant (default: the stopping rule's winner) the serving bundle: published as a
    new generation, so rollback works as after a retrain; the experiment ends."""
    running = lifecycle.running_experiment(ctx.bundle_dir)
    if running is None or running.id != exp_id:
        raise HTTPException(409, f"experiment {exp_id!r} is not running")
    variant = body.variant if body else None
    if variant is None:
        variant = (await run_in_threadpool(_readout, ctx, running))["stopping"]["winner"]
        if variant is None:
            raise HTTPException(409, "the stopping rule has no winner yet; name the variant to "
                                     "promote ({\"variant\": ...}) or keep the experiment running")
    if variant not in running.variant_names:
        raise HTTPException(422, f"variant: {variant!r} is not one of "
                                 f"{', '.join(running.variant_names)}")
    try:
        exp, generation = await run_in_threadpool(promote, ctx.bundle_dir, exp_id, variant)
    except DataError as exc:
        raise HTTPException(409, str(exc)) from None
    await _apply(ctx)
    return {"experiment": exp.to_json(), "generation": generation}


@router.get("/admin/overview", response_model=OverviewOut, responses=error_responses(401, 429))
def admin_overview(ctx: Service, minutes: Annotated[int, Query(ge=1, le=1440)] = 60
                   ) -> dict[str, Any]:
    """Traffic, latency and errors per minute (from the exposure log), the serving bundle and
    its generations, and the last retrain jobs."""
    ctx.telemetry.exposures.flush()
    return overview(ctx, time.time() - minutes * 60)
