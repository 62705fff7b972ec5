"""The OpenAPI document as the services really answer: every error is problem+json
(RFC 9457) with its status documented, and bodies read in the routes (after the
credential is checked, so not declared as parameters) are documented as request bodies.

Routes name their body with `openapi_extra=json_body(Model)`; `documented(app)` then adds
the models' schemas and, to every operation under /v1 and every report page, the error
statuses the edge can answer (authentication, limits, validation) in place of FastAPI's
application/json 422.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}
_TITLES: Final = {
    400: "malformed request",
    401: "missing or invalid credentials",
    403: "the credential lacks the scope or the division",
    404: "unknown, or outside the caller's divisions",
    405: "method not allowed",
    409: "conflicts with an existing record",
    413: "request body too large",
    415: "unsupported media type",
    422: "validation failed: every bad field named",
    429: "too many requests (Retry-After)",
    503: "not ready",
}
_EVERY_V1: Final = (400, 401, 403, 404, 405, 413, 422, 429)
# Where a credential is checked: the API, and the pages it links to (a link or a session).
_GUARDED: Final = ("/v1/", "/reports/")
_WITH_BODY: Final = (409, 415)
_MODELS: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel], media_type: str = "application/json") -> dict[str, Any]:
    """`openapi_extra` of a route that reads `model` from its body itself."""
    _MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


def raw_body(media_type: str, description: str) -> dict[str, Any]:
    """`openapi_extra` of a route whose body is not JSON (NDJSON, CSV, XLSX)."""
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def answered_as(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses` of a route whose 200 comes in several forms (`?format=` JSON, CSV, XLSX
    or a page), so that each media type it sends is documented."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _TITLES.get(status, "problem"),
        "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
    }


def _model_schemas(names: Iterable[str]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name in names:
        model = _MODELS.get(name)
        if model is None:
            continue
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def documented(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, errors and bodies added; built once and kept."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)  # fmt: skip
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    referenced: set[str] = set()
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            body = operation.get("requestBody")
            statuses = list(_EVERY_V1 if path.startswith(_GUARDED) else (405, 422))
            if body is not None:
                statuses += _WITH_BODY
                for media in body.get("content", {}).values():
                    ref = media.get("schema", {}).get("$ref", "")
                    referenced.add(ref.rsplit("/", 1)[-1])
            if path == "/readyz":
                statuses.append(503)
            for status in statuses:
                responses[str(status)] = _problem(status)
    components.update(_model_schemas(referenced))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = spec
    return spec
