"""The FastAPI application: JSON API, web page and operations endpoints over one context."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shoprec import __version__
from shoprec.service import api_admin, api_shop, api_users, api_write, web
from shoprec.service.context import ServiceContext
from shoprec.service.errors import http_error, validation_error
from shoprec.service.settings import ServiceSettings


def create_app(bundle_dir: Path, settings: ServiceSettings | None = None) -> FastAPI:
    """Load the bundle, open (and on first start seed) the store, and wire the routes."""
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

    @app.middleware("http")
    async def measure(request: Request, call_next):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        label = getattr(route, "path", "unmatched")
        ctx.metrics.requests.labels(request.method, label, str(response.status_code)).inc()
        ctx.metrics.latency.labels(label).observe(time.perf_counter() - start)
        return response

    for module in (api_shop, api_write, api_users, api_admin, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
