"""Domain errors: one base with an HTTP status and a stable machine-readable code."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A domain error. Routes never catch these; the edge renders them (Problem Details)."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # False: "this will never succeed" (an activity turns it into a non-retryable failure).
    # True only for conditions that pass by themselves (a gateway or service that is down).
    retryable: bool = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Sign-in required"


class TooManyRequests(AppError):
    status, code, title = 429, "too_many_requests", "Too many attempts"
    retryable = True


class WorkflowServiceUnavailable(AppError):
    status, code, title = 503, "workflow_service_unavailable", "Temporal is not reachable right now"
    retryable = True

    def __init__(self, detail: str | None = None, **extra) -> None:
        super().__init__(
            detail or "The workflow service is not reachable. Try again in a moment.", retry_after=5, **extra
        )


class InvalidInput(AppError):
    """A request that is well-formed but not acceptable for the record's current state."""

    status, code, title = 422, "invalid_input", "Invalid input"


def not_found(entity: str, ident: Any) -> NotFound:
    err = NotFound(f"{entity} {ident} does not exist")
    err.code = f"{entity.lower().replace(' ', '_')}_not_found"
    return err
