"""The OpenAPI document says what the API answers besides success: every operation lists the
error responses the edge can give (Problem Details, application/problem+json), so a client or
a fuzzer knows them; FastAPI's default 422 body is replaced by the Problem Details one it really
sends."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_TYPE = "application/problem+json"
PROBLEM = {
    "title": "Problem",
    "description": "RFC 9457 Problem Details; `code` is stable, `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
# What the edge may answer on any operation (api/errors.py, api/limits.py, api/deps.py).
ERRORS = {
    "400": "Bad request (e.g. a webhook's signature does not verify)",
    "401": "Sign in or send a bearer token",
    "403": "The caller may not do this (or in this branch)",
    "404": "The record does not exist or is not visible to the caller",
    "409": "The change conflicts with the record's current state",
    "413": "The request body is over the limit",
    "422": "The input is invalid (`errors` lists the fields)",
    "429": "Too many attempts; wait and try again",
    "503": "Temporal is not reachable; retry after `Retry-After` seconds",
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}


def _error(code: str, text: str) -> dict:
    resp = {
        "description": text,
        "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in ("503", "429"):
        resp["headers"] = RETRY_AFTER
    return resp


def with_errors(doc: dict) -> dict:
    """`doc` with the error responses on every operation. Idempotent."""
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    for item in doc.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for code, text in ERRORS.items():
                responses[code] = _error(code, text)
    schemas = doc["components"]["schemas"]
    if "HTTPValidationError" in schemas and "HTTPValidationError" not in str(doc["paths"]):
        schemas.pop("HTTPValidationError")
        schemas.pop("ValidationError", None)
    return doc


def install(app: FastAPI) -> None:
    """Make `app.openapi()` document the error responses (built once, then cached)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = with_errors(
                get_openapi(
                    title=app.title, version=app.version, routes=app.routes, description=app.description
                )
            )
        return app.openapi_schema

    app.openapi = openapi
