"""One cap on every request body, on every route, before anything parses it.

A route that takes a typed JSON body (FastAPI reads it whole, then validates) or reads the
body itself would otherwise hold whatever a client sends: a 100 MB body to `/chat` used to cost
about 200 MB of server memory before its 422. This plain ASGI middleware (cheaper per request
than Starlette's BaseHTTPMiddleware, and it sees the body as it streams) answers 413:

- to a declared `Content-Length` over the cap at once, without reading a byte of the body
  (the server then closes the connection, as the body is left unread); the HTTP server itself
  never delivers more than the declared length, so a body within it needs no counting;
- to a chunked body (`Transfer-Encoding`, no length declared) as soon as the bytes received
  pass the cap: it is read here, counted chunk by chunk, and handed to the route whole only
  when it ended within the cap, whether or not the route reads bodies at all.

Routes may keep tighter limits of their own (`POST /events`: `max_batch_events` events).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CapBodies:
    """Refuses any request body over `limit` bytes with 413, counted before it is parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # names arrive lower-cased
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared:
            if not declared.isdigit():  # the HTTP server refuses these first; in case one doesn't
                await _answer(send, 400, f"Content-Length {declared[:40]!r} is not a number")
            elif int(declared) > self.limit:
                await _answer(send, 413, f"request body of {declared} bytes is over the limit "
                                         f"of {self.limit}")
            else:
                await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:  # no body
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before its body ended: nothing to answer
            size += len(message.get("body", b""))
            if size > self.limit:
                await _answer(send, 413, f"request body is over the limit of {self.limit} bytes")
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks),
                                 "more_body": False}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                message, whole = whole, None
                return message
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, error: str) -> None:
    """The service's error shape, and `Connection: close`: the unread rest of the body must not
    be taken for the next request on this connection."""
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
