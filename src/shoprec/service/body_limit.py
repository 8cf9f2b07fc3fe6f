"""One cap on every request body, on every route, before anything parses it.

A route that takes a typed JSON body (FastAPI reads it whole, then validates) or reads the
body itself would otherwise hold whatever a client sends: a 100 MB body to `/chat` used to cost
about 200 MB of server memory before its 422. This plain ASGI middleware (cheaper per request
than Starlette's BaseHTTPMiddleware, and it sees the body as it streams) refuses:

- a declared `Content-Length` over the cap, or one that is not a number, at once, without
  reading a byte of the body (the connection is then closed, as the body is left unread);
- a chunked body (no `Content-Length`) as soon as the bytes counted so far pass the cap: the
  route's read raises `BodyTooLarge`, an HTTP 413 that FastAPI passes through unchanged and
  the app's error handler answers; should a route swallow it, this middleware answers 413.

Routes may keep tighter limits of their own (`POST /events`: `max_batch_events`).
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """More body arrived than the cap allows (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is over the limit of {limit} bytes",
                         headers={"Connection": "close"})


class CapBodies:
    """Refuses any request body over `limit` bytes with 413, counted before it is parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            error = (f"request body of {declared} bytes is over the limit of {self.limit}"
                     if declared.isdigit() else f"Content-Length {declared[:40]!r} is not a number")
            await _answer(send, 413 if declared.isdigit() else 400, error)
            return
        counted = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, str(exc.detail))


def _content_length(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.decode("latin-1").strip()
    return None


async def _answer(send: Send, status: int, error: str) -> None:
    """The service's error shape, and `Connection: close`: the unread body must not be taken
    for the next request on this connection."""
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
