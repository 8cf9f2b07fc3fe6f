"""The OpenAPI document as the service really behaves: request bodies that the write routes
parse themselves (to stream and bound them) get real component schemas, and limits that the
operator sets (`max_k`) appear as served."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from shoprec.service.schemas import EventBatch, EventIn, ItemBatch, ItemIn
from shoprec.service.settings import ServiceSettings

BODY_MODELS = (EventIn, EventBatch, ItemIn, ItemBatch)
K_LIMITED = ("/recommendations/{user_id}",)


def install_openapi(app: FastAPI, settings: ServiceSettings) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        _, defs = models_json_schema([(m, "validation") for m in BODY_MODELS],
                                     ref_template="#/components/schemas/{model}")
        doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        for path in K_LIMITED:
            for param in doc["paths"][path]["get"].get("parameters", []):
                if param["name"] == "k":
                    param["schema"]["maximum"] = settings.max_k
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
