"""A shopper's own data: profile, export (everything stored about them), deletion, tokens.

Who may read it is decided in `shoprec.service.access`: the shop's key or the shopper's token.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from shoprec.engine.shopper_profile import shopper_profile
from shoprec.service.context import ServiceContext
from shoprec.service.deps import Gate, Service, Settings, ShopKey, ShopperReader
from shoprec.service.errors import error_responses
from shoprec.service.schemas import (
    DeletedOut,
    EventOut,
    ExportOut,
    ProfileOut,
    TokenOut,
    UserIdPath,
)
from shoprec.service.settings import ServiceSettings
from shoprec.service.store_gate import StoreGate
from shoprec.store.shopper_keys import issue_version

router = APIRouter(tags=["shoppers"])


def profile_now(svc: ServiceContext, user_id: str) -> dict:
    """The shopper's profile as of now, from their most recent events."""
    events = svc.gate.recent_events(user_id)
    return shopper_profile(svc.serving, svc.catalogue, user_id, events, int(time.time()))


@router.get("/users/{user_id}/profile", response_model=ProfileOut, dependencies=[ShopperReader],
            responses=error_responses(401, 422, 429, 503))
def profile(svc: Service, user_id: UserIdPath) -> dict:
    """What the shop knows about the shopper's tastes (an empty profile for a new visitor);
    needs the shopper's token or the shop's key."""
    return profile_now(svc, user_id)


@router.get("/users/{user_id}/export", response_model=ExportOut, dependencies=[ShopperReader],
            responses=error_responses(401, 422, 429, 503))
def export(svc: Service, user_id: UserIdPath,
           cursor: Annotated[int, Query(ge=0, le=2**63 - 1, description="from a previous "
                                                                       "page's next_cursor")] = 0,
           ) -> ExportOut:
    """Everything stored about the shopper, page by page: every event (arrival order) and, on
    the first page, the derived profile; needs the shopper's token or the shop's key."""
    page, next_cursor = svc.store.export_events(user_id, cursor, svc.settings.export_page_events)
    derived = profile_now(svc, user_id) if cursor == 0 else None
    return ExportOut(user_id=user_id, events=[EventOut(**e.to_json()) for e in page],
                     next_cursor=next_cursor, profile=derived)


@router.delete("/users/{user_id}", response_model=DeletedOut,
               dependencies=[ShopKey], responses=error_responses(401, 422, 429, 503))
async def delete_user(svc: Service, user_id: UserIdPath) -> DeletedOut:
    """Forget the shopper at once: their events leave the store (and SQLite's log), their rows
    leave the serving bundle's files and the model's per-shopper state, and popularity and
    "bought together" are recomputed without them. Needs the shop's key."""
    svc.telemetry.exposures.forget(user_id)
    removed = await svc.gate.write(svc.store.delete_user, user_id)
    svc.gate.forget_exposures_later(user_id)
    in_model = await run_in_threadpool(svc.state.forget, user_id)
    return DeletedOut(user_id=user_id, deleted_events=removed, removed_from_model=in_model)


async def token_for(gate: StoreGate, settings: ServiceSettings, user_id: str) -> TokenOut:
    """The shopper's token, signed with their version (made in the store on the first issue)."""
    version = await gate.write(issue_version, gate.store.engine, user_id)
    return TokenOut(user_id=user_id, token=settings.shopper_token(user_id, version))


@router.post("/users/{user_id}/token", response_model=TokenOut,
             dependencies=[ShopKey], responses=error_responses(401, 422, 429, 503))
async def issue_token(gate: Gate, settings: Settings, user_id: UserIdPath) -> TokenOut:
    """The shop's back end asks for a shopper's token (with its key) and gives it to that
    shopper's page; every issue gives the same token, valid until the shopper is deleted
    (`DELETE /users/{id}`: a token issued after that is a new one) or the key (or
    SHOPREC_TOKEN_SECRET) changes."""
    return await token_for(gate, settings, user_id)


@router.post("/visitors", response_model=TokenOut, responses=error_responses(429, 503))
async def new_visitor(gate: Gate, settings: Settings) -> TokenOut:
    """A page without a login gets a fresh random visitor id and its token (the server picks
    the id, so no one can ask for a token to someone else's)."""
    return await token_for(gate, settings, "visitor-" + secrets.token_hex(8))
