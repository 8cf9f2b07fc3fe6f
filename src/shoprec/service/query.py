"""Query strings of the hot read endpoints, validated by one pydantic model per request.

FastAPI 0.165 re-inspects each declared parameter's annotation on every request (is it a
sequence? a model? which alias?): about 25 µs a parameter, so the ten filters of
`GET /recommendations` cost more than ranking the whole catalogue (0.2 ms against 0.12 ms on
Beauty). The list endpoints therefore take their query as one model (`ListQuery` and its
subclasses), read here with a single `model_validate`; `openapi_parameters` documents the same
fields in the OpenAPI schema, and a bad value is the same 422 (`query.k: ...`) FastAPI gives.
"""

from __future__ import annotations

import typing
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Q = TypeVar("Q", bound=BaseModel)
_LIST_FIELDS: dict[type, frozenset[str]] = {}


def _list_aliases(model: type[BaseModel]) -> frozenset[str]:
    """Names (aliases) of the model's list fields: these may repeat in the query string."""
    if model not in _LIST_FIELDS:
        _LIST_FIELDS[model] = frozenset(
            field.alias or name for name, field in model.model_fields.items()
            if typing.get_origin(field.annotation) is list)
    return _LIST_FIELDS[model]


def read_query(model: type[Q], request: Request) -> Q:
    """The request's query string as `model`; RequestValidationError (422) when it does not fit.
    Parameters the model does not name are ignored, as FastAPI ignores them."""
    params = request.query_params
    lists = _list_aliases(model)
    data: dict[str, Any] = {key: params.getlist(key) if key in lists else params[key]
                            for key in params}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def openapi_parameters(model: type[BaseModel],
                       headers: dict[str, str] | None = None) -> dict[str, Any]:
    """`openapi_extra` for a route reading `model` (and these optional headers, name ->
    description): each field becomes a documented query parameter."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    for name, description in (headers or {}).items():
        params.append({"name": name, "in": "header", "required": False,
                       "schema": {"type": "string"}, "description": description})
    return {"parameters": params}
