"""Who may call what: the shop's key, per-shopper tokens, and a brake on wrong ones (the
checks; routes ask for them through the dependencies in `shoprec.service.deps`).

- Write endpoints, admin, and any shopper's data: the shop's key, as `X-API-Key: <key>` or
  `Authorization: Bearer <key>` (a bare `Authorization: <key>` is refused).
- A shopper's own data (profile, export, explained recommendations, chat with their history)
  and their events: the shop's key, or that shopper's token in `X-Shopper-Token` (the shop's
  back end gets it with `POST /users/{id}/token`; `POST /visitors` hands a fresh random visitor
  id and its token to a page without a login). A token is an HMAC of the id and the shopper's
  token version in the store (`shoprec.store.shopper_keys`): deleting the shopper ends it.
- A batch of events naming several shoppers needs the shop's key (a page sends one shopper's
  events; a back end forwarding many holds the key).
- A client that sends more than `auth_failures_allowed` wrong keys or tokens in
  `auth_failure_window_s` gets 429 with Retry-After until the window has passed. The client is
  the socket's peer (X-Forwarded-For counts only from `trusted_proxies`, set by the uvicorn
  options), and the right key or token is checked first, so it is never refused: many
  shoppers behind one proxy share an address, and keys (24 random bytes) and tokens (128 bits)
  are beyond guessing anyway; the brake bounds what a client sending wrong ones costs.
"""

from __future__ import annotations

import secrets
from typing import Annotated, NoReturn

from fastapi import Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from shoprec.service.context import ServiceContext
from shoprec.store.shopper_keys import token_version


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (headers arrive as latin-1)."""
    return bool(expected) and secrets.compare_digest(given.encode("utf-8", "surrogatepass"),
                                                     expected.encode("utf-8", "surrogatepass"))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def presented_key(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def has_shop_key(ctx: ServiceContext, x_api_key: str | None, authorization: str | None) -> bool:
    given = presented_key(x_api_key, authorization)
    return given is not None and same_secret(given, ctx.settings.api_key or "")


def has_shopper_token(ctx: ServiceContext, user_id: str, token: str | None) -> bool:
    """The token is the one signed with this shopper's current version (none: refused)."""
    if not token:
        return False
    version = token_version(ctx.store.engine, user_id)
    return version is not None and same_secret(token, ctx.settings.shopper_token(user_id, version))


KeyHeader = Annotated[str | None, Header(description="the shop's API key")]
BearerHeader = Annotated[str | None, Header(description="`Bearer <the shop's API key>`")]
TokenHeader = Annotated[str | None, Header(description="the shopper's token")]


def refuse(request: Request, ctx: ServiceContext, presented: bool, message: str) -> NoReturn:
    """401 (429 once this client sent too many wrong keys or tokens); a missing credential is
    not counted as a wrong one."""
    client = _client(request)
    ctx.auth_failures.check(client)
    if presented:
        ctx.auth_failures.record(client)
    raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def require_shop_key(request: Request, ctx: ServiceContext, x_api_key: str | None,
                     authorization: str | None) -> None:
    """Write and admin endpoints: the shop's key (the `ShopKey` dependency)."""
    if not has_shop_key(ctx, x_api_key, authorization):
        refuse(request, ctx, bool(x_api_key or authorization),
               "missing or wrong API key (send it as X-API-Key or Authorization: Bearer <key>)")


def authorize_shopper(request: Request, ctx: ServiceContext, user_id: str,
                      x_api_key: str | None, authorization: str | None,
                      x_shopper_token: str | None, doing: str = "reading {}'s data") -> None:
    """The shop's key or this shopper's token; 401 otherwise (429 after too many wrong ones).
    Reads the token's version from the store: async routes call `authorize_shopper_async`."""
    if has_shop_key(ctx, x_api_key, authorization):
        return
    if has_shopper_token(ctx, user_id, x_shopper_token):
        return
    refuse(request, ctx, bool(x_api_key or authorization or x_shopper_token),
           f"{doing.format(f'shopper {user_id!r}')} needs their token (X-Shopper-Token) or the "
           "shop's API key")


async def authorize_shopper_async(request: Request, ctx: ServiceContext, user_id: str,
                                  x_api_key: str | None, authorization: str | None,
                                  x_shopper_token: str | None,
                                  doing: str = "reading {}'s data") -> None:
    """`authorize_shopper` for async routes: inline when the store is a local file, in the
    thread pool otherwise (a database over the network must not hold the event loop)."""
    args = (request, ctx, user_id, x_api_key, authorization, x_shopper_token, doing)
    if ctx.store.local or has_shop_key(ctx, x_api_key, authorization):
        authorize_shopper(*args)
    else:
        await run_in_threadpool(authorize_shopper, *args)


async def authorize_events(request: Request, ctx: ServiceContext, user_ids: set[str],
                           key: str | None, bearer: str | None, token: str | None) -> None:
    """POST /events: one shopper's events need their token or the shop's key; a batch naming
    several shoppers needs the key."""
    if has_shop_key(ctx, key, bearer):
        return
    if len(user_ids) == 1:
        await authorize_shopper_async(request, ctx, next(iter(user_ids)), key, bearer, token,
                                      "storing events of {}")
        return
    refuse(request, ctx, bool(key or bearer or token),
           f"a batch naming {len(user_ids)} shoppers needs the shop's API key (a shopper's "
           "token covers only their own events)")
