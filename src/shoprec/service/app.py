"""The FastAPI application: JSON API, web page and operations endpoints over one context.

Every router that reads what serves follows new generations on disk (`FollowGeneration`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoprec import __version__
from shoprec.service import (
    admin_page,
    api_admin,
    api_chat,
    api_experiments,
    api_shop,
    api_users,
    api_write,
    web,
)
from shoprec.service.body_limit import CapBodies
from shoprec.service.context import ServiceContext
from shoprec.service.deps import FollowGeneration
from shoprec.service.errors import StoreUnavailable, http_error, unexpected_error, validation_error
from shoprec.service.metrics import ShopMetrics, method_label
from shoprec.service.openapi import install_openapi
from shoprec.service.settings import ServiceSettings

#: Our pages load only their own script and style; the API docs load Swagger UI / ReDoc from
#: their CDN with an inline start-up script.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data: https:; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "img-src 'self' data: https:; worker-src 'self' blob:; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")
#: The dashboard's charts (plotly.js) set style elements of their own; scripts stay 'self' only.
ADMIN_POLICY = PAGE_POLICY + "; style-src 'self' 'unsafe-inline'"


class MeasureRequests:
    """Counts and times every HTTP request by route template, and adds the security headers
    to every response (a plain ASGI middleware: cheaper per request than Starlette's
    BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, metrics: ShopMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        path = scope["path"]
        policy = (DOCS_POLICY if path in DOCS_PATHS else ADMIN_POLICY if path == "/admin"
                  else PAGE_POLICY)

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", policy.encode()),
                                      (b"x-frame-options", b"DENY"),
                                      (b"x-content-type-options", b"nosniff"),
                                      (b"referrer-policy", b"same-origin")]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            label = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(method_label(scope["method"]), label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)


def create_app(bundle_dir: Path, settings: ServiceSettings | None = None) -> FastAPI:
    """Load the bundle, open the store (seeding an empty one only when told to), wire routes."""
    settings = settings or ServiceSettings()
    settings.ensure_api_key()
    ctx = ServiceContext(bundle_dir, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(title="shoprec", version=__version__, lifespan=lifespan,
                  description="Recommendations, search and feedback for an online shop.")
    app.state.ctx = ctx
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(SQLAlchemyError, unexpected_error)
    app.add_exception_handler(StoreUnavailable, unexpected_error)
    app.add_exception_handler(Exception, unexpected_error)

    app.add_middleware(CapBodies, limit=settings.max_body_bytes)  # inside: counted, headers
    app.add_middleware(MeasureRequests, metrics=ctx.telemetry.metrics)
    for module in (api_shop, api_chat, api_write, api_users, api_admin, api_experiments):
        app.include_router(module.router, dependencies=[FollowGeneration])
    app.include_router(admin_page.router)  # the page and its script: no serving state read
    app.include_router(web.router, dependencies=[FollowGeneration])
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    install_openapi(app, settings)
    return app
