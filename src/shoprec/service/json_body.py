"""Reading a JSON request body by hand (the write endpoints take one object, a batch, or a bare
list): content type, nesting depth and number checks before parsing, one 422 naming the field.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError

from shoprec.service.errors import describe_validation


async def read_json(request: Request, max_depth: int) -> Any:
    """The request body as JSON: 415 unless sent as `application/json` (a browser form or a
    `text/plain` post from another site is not an API call); 400 when not JSON, when it holds
    NaN or Infinity, or when nested deeper than `max_depth`. Its size is capped before this on
    every route (`shoprec.service.body_limit`: 413)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, f"{request.method} {request.url.path} takes a JSON body sent "
                                 f"as Content-Type: application/json, not "
                                 f"{media_type or 'no Content-Type'!r}")
    body = await request.body()
    depth = json_depth(body)
    if depth > max_depth:
        raise HTTPException(400, f"JSON nested {depth} levels deep; at most {max_depth} accepted")
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise HTTPException(400, f"malformed JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a number")
    return value


_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(body: bytes) -> int:
    """Deepest bracket nesting outside strings, found before parsing (so a 2 KB body nested a
    thousand deep is refused instead of recursing in the parser or the validator)."""
    depth = deepest = 0
    for token in _BRACKETS.findall(body):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def parse_many(payload: Any, key: str, one: type[BaseModel], many: type[BaseModel]) -> list:
    """One object, a list of objects, or {key: [...]}: all become a list; 422 naming the field."""
    try:
        if isinstance(payload, list):
            payload = {key: payload}
        if isinstance(payload, dict) and key in payload:
            return list(getattr(many.model_validate(payload), key))
        if isinstance(payload, dict):
            return [one.model_validate(payload)]
    except ValidationError as exc:
        raise HTTPException(422, describe_validation(exc.errors())) from None
    raise HTTPException(422, f"expected a JSON object or a list of objects, got {type(payload).__name__}")


def body_schema(one: str, many: str) -> dict[str, Any]:
    """The request body in the OpenAPI document: one object, a batch, or a bare list (the
    components are added by `shoprec.service.openapi`)."""
    ref = {"$ref": f"#/components/schemas/{one}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [ref, {"$ref": f"#/components/schemas/{many}"},
                  {"type": "array", "items": ref, "minItems": 1}]}}}}}
