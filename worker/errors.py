"""The one error rule for activities: a domain refusal is final, anything else is retried.

A `backroom.errors.AppError` raised by an activity (not found, conflict, invalid state, a
declined card) will fail the same way on every attempt, so it leaves the activity as a
non-retryable `ApplicationError` whose type is the error's stable `code`; the workflow sees it
at once. Errors that pass by themselves (database locked, network, RPCError, and AppErrors
marked `retryable`, such as GatewayUnavailable) propagate untouched and Temporal retries them
with the caller's retry policy."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from backroom.errors import AppError


def as_activity_failure(exc: AppError) -> ApplicationError:
    """The failure a workflow sees for a domain error: type = its code, its message, final."""
    return ApplicationError(exc.detail, type=exc.code, non_retryable=True)


class _DomainErrorInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except AppError as exc:
            if exc.retryable:
                raise
            # Chained, so the original class and traceback stay visible in the Temporal UI.
            raise as_activity_failure(exc) from exc


class DomainErrorInterceptor(Interceptor):
    """Worker interceptor applying the error rule to every activity (see worker/registry.py)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DomainErrorInbound(next)
