"""Who may call what: the shop's key, per-shopper tokens, and a brake on guessing either.

- Write endpoints, admin, and any shopper's data: the shop's key, as `X-API-Key: <key>` or
  `Authorization: Bearer <key>` (a bare `Authorization: <key>` is refused).
- A shopper's own data (profile, export, explained recommendations): the shop's key, or that
  shopper's token in `X-Shopper-Token` (an HMAC of the id the shop issues with
  `POST /users/{id}/token`; `POST /visitors` hands a fresh random visitor id and its token to a
  page without a login).
- A client (by address) that sends more than `auth_failures_allowed` wrong keys or tokens in
  `auth_failure_window_s` gets 429 with Retry-After until the window has passed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from shoprec.service.context import ServiceContext, get_context


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


KeyHeader = Annotated[str | None, Header(description="the shop's API key")]
BearerHeader = Annotated[str | None, Header(description="`Bearer <the shop's API key>`")]
TokenHeader = Annotated[str | None, Header(description="the shopper's token")]


def require_api_key(
    request: Request,
    ctx: Annotated[ServiceContext, Depends(get_context)],
    x_api_key: KeyHeader = None,
    authorization: BearerHeader = None,
) -> None:
    """Write and admin endpoints: the shop's key."""
    client = _client(request)
    ctx.auth_failures.check(client)
    if not has_shop_key(ctx, x_api_key, authorization):
        if x_api_key or authorization:
            ctx.auth_failures.record(client)
        raise HTTPException(401, "missing or wrong API key (send it as X-API-Key or "
                                 "Authorization: Bearer <key>)",
                            headers={"WWW-Authenticate": "Bearer"})


def authorize_shopper(request: Request, ctx: ServiceContext, user_id: str,
                      x_api_key: str | None, authorization: str | None,
                      x_shopper_token: str | None) -> None:
    """The shop's key or this shopper's token; 401 otherwise (429 after too many wrong ones)."""
    client = _client(request)
    ctx.auth_failures.check(client)
    if has_shop_key(ctx, x_api_key, authorization):
        return
    if x_shopper_token and same_secret(x_shopper_token, ctx.settings.shopper_token(user_id)):
        return
    if x_api_key or authorization or x_shopper_token:
        ctx.auth_failures.record(client)
    raise HTTPException(401, f"reading shopper {user_id!r}'s data needs their token "
                             "(X-Shopper-Token) or the shop's API key",
                        headers={"WWW-Authenticate": "Bearer"})
