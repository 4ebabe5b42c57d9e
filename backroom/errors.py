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


class DatabaseBusy(AppError):
    """The database gave up on a transaction that collided with another (a deadlock, a
    serialization failure, SQLite's lock wait running out). Nothing was written; the same
    request again will most likely pass."""

    status, code, title = 503, "database_busy", "Too busy right now"
    retryable = True

    def __init__(self, detail: str | None = None, **extra) -> None:
        super().__init__(
            detail or "Many changes arrived at once. Try again in a moment.", retry_after=1, **extra
        )


class DatabaseUnavailable(AppError):
    """The connection to the database was lost (a restart, a network fault) in the middle of a
    request. Its transaction did not commit; the pool opens fresh connections for the next."""

    status, code, title = 503, "database_unavailable", "The database is not reachable right now"
    retryable = True

    def __init__(self, detail: str | None = None, **extra) -> None:
        super().__init__(
            detail or "The connection to the database was lost. Try again in a moment.",
            retry_after=1,
            **extra,
        )


# SQLSTATEs of a transaction the database aborted because of others: serialization failure,
# deadlock, lock wait timed out (lock_timeout).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient_db_error(exc: BaseException) -> bool:
    """Whether a DBAPI error is a collision with another transaction (retrying helps)."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig)  # SQLite's busy timeout ran out


class InvalidInput(AppError):
    """A value that is wrong in itself, which the input model could not judge alone (a form's
    date that is no date, a filter that is no id): 422, like the models' own validation."""

    status, code, title = 422, "invalid_input", "Invalid input"


class Refused(InvalidInput):
    """Well-formed input that the records' current state turns down: the cart is empty, the
    account is in another currency, the order belongs to another customer. 409: the request
    was valid by the API's schema, and the records decided (a schema cannot say this). A
    subclass of InvalidInput, so a form shows it beside its field like any input error."""

    status, code, title = 409, "refused", "Not possible"


def not_found(entity: str, ident: Any) -> NotFound:
    err = NotFound(f"{entity} {ident} does not exist")
    err.code = f"{entity.lower().replace(' ', '_')}_not_found"
    return err
