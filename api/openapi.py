"""The OpenAPI document says what the API answers besides success: every operation lists the
error responses the edge can give (Problem Details, application/problem+json), so a client or
a fuzzer knows them; FastAPI's default 422 body is replaced by the Problem Details one it really
sends."""

from __future__ import annotations

import re

import email_validator
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
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string", "description": "What is wrong, in words for people"},
                    "type": {"type": "string", "description": "pydantic's error type, for programs"},
                },
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


# Text never carries a NUL (api/limits.py refuses it): said on every free-text string.
NO_NUL = "^[^\\x00]*$"
BIGGEST = 2**63 - 1  # a 64-bit id; Pydantic writes le=2**63-1 as the float 2**63, one too many


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# An e-mail address in a special-use domain (.test, .local, .invalid, ...) is refused by
# email_validator, which EmailStr uses; the document says so beside `format: email`.
SPECIAL_USE_EMAIL = "[@.](" + "|".join(_any_case(d) for d in email_validator.SPECIAL_USE_DOMAIN_NAMES) + ")$"


def _truthful(node) -> None:
    """Say what the edge enforces beyond the models: no NUL in free text, exact integer bounds."""
    if isinstance(node, list):
        for item in node:
            _truthful(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not ({"pattern", "format", "enum", "const"} & node.keys()):
        node["pattern"] = NO_NUL
    if node.get("format") == "email" and "not" not in node:
        node["not"] = {"pattern": SPECIAL_USE_EMAIL}
    # An object's keys are text too: no NUL in a property name (a body with one is refused).
    if node.get("type") == "object" and "propertyNames" not in node:
        node["propertyNames"] = {"pattern": NO_NUL}
    # Pydantic writes the bounds of an optional constrained number (`Minor | None` with ge=...)
    # under its own names, which JSON Schema ignores: the document said "any integer".
    if node.get("type") in ("integer", "number"):
        for ours, theirs in (
            ("ge", "minimum"),
            ("le", "maximum"),
            ("gt", "exclusiveMinimum"),
            ("lt", "exclusiveMaximum"),
        ):
            if ours in node and theirs not in node:
                node[theirs] = node.pop(ours)
    for key in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
        value = node.get(key)
        if isinstance(value, float) and value.is_integer():
            node[key] = min(int(value), BIGGEST) if value > 0 else max(int(value), -BIGGEST)
    for value in node.values():
        _truthful(value)


def with_errors(doc: dict) -> dict:
    """`doc` with the error responses on every operation, free text without NUL and exact
    integer bounds. Idempotent."""
    _truthful(doc.get("paths", {}))
    _truthful(doc.get("components", {}).get("schemas", {}))
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
