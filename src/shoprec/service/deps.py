"""The typed FastAPI dependencies every route takes, defined once: the parts of the running
service, the credential checks, and the requests that need a check before the route runs.

A route names what it reads (`State`, `Gate`, `Measures`, `Settings`, or the whole `Service`
when it uses several parts) and the check it needs (`ShopKey`, `ShopperReader`, or a request
type that carries its own check: `RecommendationsRequest`, `ChatRequest`, `EventsRequest`).
Following a new generation on disk is a dependency of its own (`FollowGeneration`), added to
the routers in `service.app`, so no part's getter has a side effect.

The part getters are `async`: FastAPI runs a plain `def` dependency in the thread pool, which
costs a hand-off per request. The key and token checks stay plain functions: a token's version
is read from the store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from shoprec.service.access import (
    BearerHeader,
    KeyHeader,
    TokenHeader,
    authorize_events,
    authorize_shopper,
    authorize_shopper_async,
    require_shop_key,
)
from shoprec.service.context import ServiceContext
from shoprec.service.json_body import parse_many, read_json
from shoprec.service.query import read_query
from shoprec.service.schemas import (
    ChatIn,
    EventBatch,
    EventIn,
    RecommendationsQuery,
    UserIdPath,
)
from shoprec.service.serving_state import ServingState
from shoprec.service.settings import ServiceSettings
from shoprec.service.store_gate import StoreGate
from shoprec.service.telemetry import Telemetry


async def service(request: Request) -> ServiceContext:
    return request.app.state.ctx


async def serving_state(request: Request) -> ServingState:
    return request.app.state.ctx.state


async def store_gate(request: Request) -> StoreGate:
    return request.app.state.ctx.gate


async def telemetry(request: Request) -> Telemetry:
    return request.app.state.ctx.telemetry


async def service_settings(request: Request) -> ServiceSettings:
    return request.app.state.ctx.settings


async def follow_generation(request: Request) -> None:
    """Notice a new generation or experiment on disk (at most twice a second; the load runs in
    the background, this request is answered by what serves now)."""
    request.app.state.ctx.state.check_generation()


Service = Annotated[ServiceContext, Depends(service)]
State = Annotated[ServingState, Depends(serving_state)]
Gate = Annotated[StoreGate, Depends(store_gate)]
Measures = Annotated[Telemetry, Depends(telemetry)]
Settings = Annotated[ServiceSettings, Depends(service_settings)]
FollowGeneration = Depends(follow_generation)


def require_api_key(request: Request, svc: Service, x_api_key: KeyHeader = None,
                    authorization: BearerHeader = None) -> None:
    """Write and admin endpoints: the shop's key."""
    require_shop_key(request, svc, x_api_key, authorization)


def shopper_reader(request: Request, svc: Service, user_id: UserIdPath,
                   x_api_key: KeyHeader = None, authorization: BearerHeader = None,
                   x_shopper_token: TokenHeader = None) -> None:
    """The caller holds this shopper's token or the shop's key."""
    authorize_shopper(request, svc, user_id, x_api_key, authorization, x_shopper_token)


ShopKey = Depends(require_api_key)
ShopperReader = Depends(shopper_reader)


async def recommendations_query(request: Request, svc: Service, user_id: UserIdPath
                                ) -> RecommendationsQuery:
    """The query of GET /recommendations (one validation, `service.query`), `k` within the
    server's limit; `explain=true` names the shopper's history, so it needs their token or the
    shop's key (read from the headers directly: declared ones cost per request)."""
    query = read_query(RecommendationsQuery, request)
    if query.k > svc.settings.max_k:
        raise HTTPException(422, f"k={query.k} is above the limit of {svc.settings.max_k}")
    if query.explain:
        headers = request.headers
        await authorize_shopper_async(request, svc, user_id, headers.get("x-api-key"),
                                      headers.get("authorization"),
                                      headers.get("x-shopper-token"))
    return query


async def chat_request(request: Request, svc: Service, body: ChatIn,
                       x_api_key: KeyHeader = None, authorization: BearerHeader = None,
                       x_shopper_token: TokenHeader = None) -> ChatIn:
    """A chat turn; with `user_id` it draws on the shopper's history: their token or the key."""
    if body.user_id:
        await authorize_shopper_async(request, svc, body.user_id, x_api_key, authorization,
                                      x_shopper_token)
    return body


async def event_batch(request: Request, svc: Service, x_shopper_token: TokenHeader = None,
                      x_api_key: KeyHeader = None, authorization: BearerHeader = None
                      ) -> list[EventIn]:
    """POST /events' body, read whole (413 over `max_batch_events`) and validated, then the
    check: one shopper's events need their token or the key, several shoppers' the key."""
    payload = await read_json(request, svc.settings.max_json_depth)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        size = len(payload["events"])
    else:
        size = len(payload) if isinstance(payload, list) else 1
    if size > svc.settings.max_batch_events:
        raise HTTPException(413, f"batch of {size} events is over the limit of "
                                 f"{svc.settings.max_batch_events} per request; split it")
    events: list[EventIn] = parse_many(payload, "events", EventIn, EventBatch)
    await authorize_events(request, svc, {e.user_id for e in events}, x_api_key, authorization,
                           x_shopper_token)
    return events


RecommendationsRequest = Annotated[RecommendationsQuery, Depends(recommendations_query)]
ChatRequest = Annotated[ChatIn, Depends(chat_request)]
EventsRequest = Annotated[list[EventIn], Depends(event_batch)]
