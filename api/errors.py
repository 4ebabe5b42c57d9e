"""Error rendering: Problem Details JSON for the API, pages (or redirects) for the UI."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.deps import SignInRequired, is_api
from api.validation import message, messages, summary
from backroom.errors import (
    AppError,
    DatabaseBusy,
    DatabaseUnavailable,
    WorkflowServiceUnavailable,
    is_transient_db_error,
)
from backroom.temporal import unreachable

log = logging.getLogger("backroom.api")
# Problem Details' own members: an error's extra detail of the same name (a record's `status`)
# is sent as `record_<name>` rather than clash with them (a clash was a 500).
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "instance", "request"})


def field_errors(exc: RequestValidationError) -> list[dict]:
    """Each refused field: its name, what is wrong in the words the staff forms use ("Reason
    needs at least 3 characters", not pydantic's), and pydantic's error type for programs."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = "body" if err.get("type") == "json_invalid" else ".".join(loc) or "body"
        out.append({"field": field, "message": message(err), "type": err.get("type", "")})
    return out


def problem(request: Request, status: int, code: str, title: str, detail: str, **extra) -> Response:
    if is_api(request) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    ):
        body = {
            "type": f"urn:backroom:problem:{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "instance": request.url.path,
            **extra,
        }
        return JSONResponse(body, status_code=status, media_type="application/problem+json")
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "code": code},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):
        if isinstance(exc, SignInRequired):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        headers = {}
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        resp = problem(
            request,
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            **{
                (f"record_{k}" if k in PROBLEM_MEMBERS else k): v
                for k, v in exc.extra.items()
                if k != "retry_after"
            },
        )
        resp.headers.update(headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = field_errors(exc)
        return problem(
            request,
            422,
            "validation_failed",
            "Invalid input",
            summary({e["field"]: e["message"] for e in errors[:5]}) or "Some fields are invalid.",
            errors=errors,
        )

    @app.exception_handler(ValidationError)
    async def invalid_value(request: Request, exc: ValidationError):
        # A domain model built from a form's parsed values refused one (an amount past what the
        # ledger takes): the input's fault, said in words; nothing was written.
        errors = messages(exc)
        return problem(
            request,
            422,
            "validation_failed",
            "Check the form",
            summary(errors) or "Some fields are invalid.",
            errors=[{"field": k, "message": v} for k, v in errors.items()],
        )

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError):
        # A constraint caught what validation did not (a race, a duplicate): the client's
        # request conflicts with the stored state; nothing was written.
        log.info("integrity error: %s", exc.orig)
        return problem(request, 409, "conflict", "Conflict", "The change conflicts with existing records.")

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: Exception):
        # A number too large for its column (PostgreSQL: DataError; SQLite's driver:
        # OverflowError) is the client's mistake, not a server fault; nothing was written.
        log.info("value out of range: %s", exc)
        return problem(request, 422, "invalid_input", "Check the form", "A number is too large.")

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError):
        # A deadlock or serialization failure rolled the transaction back: a 503 the client
        # may retry (Retry-After), not our fault. Any other database error is.
        if is_transient_db_error(exc):
            log.warning("transaction aborted by the database on %s: %s", request.url.path, exc.orig)
            return await app_error(request, DatabaseBusy())
        if exc.connection_invalidated:  # the pool replaces its connections for the next request
            log.warning("database connection lost on %s: %s", request.url.path, exc.orig)
            return await app_error(request, DatabaseUnavailable())
        return await internal(request, exc)

    @app.exception_handler(RPCError)
    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def temporal_error(request: Request, exc: Exception):
        # Temporal down or not answering: a 503 the client may retry (a cart change with its
        # Idempotency-Key, a checkout with its key); anything else is our fault, said plainly.
        if unreachable(exc) or isinstance(exc, RPCTimeoutOrCancelledError):
            log.warning("Temporal unreachable on %s: %s", request.url.path, exc)
            return await app_error(request, WorkflowServiceUnavailable())
        return await internal(request, exc)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        # Never the exception's text: it may hold SQL, parameters or paths.
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return problem(
            request, 500, "internal_error", "Something went wrong", "Something went wrong on our side."
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        resp = problem(
            request,
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            str(exc.detail),
        )
        if exc.status_code == 405:
            resp.headers["Allow"] = ", ".join(allowed_methods(request))
        return resp


def _route_table(app) -> list[tuple[re.Pattern, set[str]]]:
    """(path regex, methods) of every route, built once per app."""
    table = getattr(app.state, "route_methods", None)
    if table is None:
        try:  # FastAPI >= 0.16x keeps included routers nested
            from fastapi.routing import iter_route_contexts

            routes = list(iter_route_contexts(app.routes))
        except ImportError:
            routes = list(app.routes)
        table = [
            (compile_path(r.path)[0], set(r.methods))
            for r in routes
            if getattr(r, "path", None) and getattr(r, "methods", None)
        ]
        app.state.route_methods = table
    return table


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (several routes may share one path)."""
    path = request.url.path
    return sorted({m for rx, methods in _route_table(request.app) if rx.match(path) for m in methods})
