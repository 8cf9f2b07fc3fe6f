"""One error shape for every failure: {"error": "<one line saying what was wrong>", ...}."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shoprec.service.context import ServiceContext, get_context


def describe_validation(errors: list[dict]) -> str:
    """Pydantic errors as one readable line: `events.2.event: Input should be 'view', ...`."""
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    return JSONResponse(status_code=422, content={
        "error": describe_validation(errors),
        "details": [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors[:20]]})


async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content={"error": str(exc.detail)},
                        headers=getattr(exc, "headers", None))


def require_api_key(
    ctx: Annotated[ServiceContext, Depends(get_context)],
    x_api_key: Annotated[str | None, Header(description="the service's API key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Write endpoints: the key from `X-API-Key` or `Authorization: Bearer <key>`."""
    given = x_api_key or (authorization or "").removeprefix("Bearer ").strip() or None
    expected = ctx.settings.api_key or ""
    if not given or not expected or not secrets.compare_digest(given, expected):
        raise HTTPException(401, "missing or wrong API key (send it as X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})
