"""One error shape for every failure: {"error": "<one line saying what was wrong>", ...}.

Store outages (connection refused, locked, read-only, pool exhausted) answer 503 with
Retry-After, so a client knows to come back; anything unforeseen answers 500 in the same JSON
shape without internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc

from shoprec.store.outages import outage_kind

RETRY_AFTER_S = 5
log = logging.getLogger("shoprec.service")


class ErrorOut(BaseModel):
    """Every error the service answers."""

    error: str = Field(description="one line saying what was wrong")
    details: list[dict[str, Any]] | None = Field(
        None, description="for 422: each invalid field (loc, msg)")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error codes a route can answer, all in the ErrorOut shape."""
    meaning = {400: "malformed JSON", 401: "missing or wrong key or token",
               404: "unknown id", 409: "conflict", 413: "body or batch too large",
               415: "not sent as Content-Type: application/json",
               422: "invalid input", 429: "too many wrong keys or tokens",
               503: "the store is unavailable (Retry-After says when to try again)"}
    return {code: {"model": ErrorOut, "description": meaning[code]} for code in codes}


class StoreUnavailable(Exception):
    """The store could not answer in time (raised by the service's own waits)."""


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


def is_outage(exc: BaseException) -> bool:
    """Errors that mean the store is down, locked, read-only or saturated, not a bad request."""
    return isinstance(exc, StoreUnavailable | sa_exc.OperationalError | sa_exc.InterfaceError
                      | sa_exc.InternalError | sa_exc.TimeoutError | sa_exc.DisconnectionError)


def unavailable(reason: str) -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                        content={"error": f"the store is unavailable ({reason}); try again later"})


def outage_reason(exc: BaseException) -> str:
    """What kind of outage, in words safe to send to any client (`store.engine.outage_kind`)."""
    if isinstance(exc, StoreUnavailable):
        return str(exc)
    return outage_kind(exc)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_outage(exc):
        log.warning("%s %s: store unavailable: %s (%s)", request.method, request.url.path,
                    outage_reason(exc), str(getattr(exc, "orig", None) or exc).splitlines()[:1])
        return unavailable(outage_reason(exc))
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"error": "internal error; the server logged it"})
