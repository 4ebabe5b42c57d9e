"""The one error rule (worker/errors.py) on a real worker: a domain refusal is final and typed by
its code; transient trouble (database locked, a gateway down) is retried until it passes."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from backroom.errors import Conflict
from backroom.payments.errors import GatewayUnavailable
from worker.errors import DomainErrorInterceptor

calls: Counter[str] = Counter()


@activity.defn(name="test.flaky")
async def flaky(kind: str) -> str:
    """Fails the first attempt with `kind`, then succeeds (or keeps refusing, for a refusal)."""
    calls[kind] += 1
    if kind == "conflict":
        raise Conflict("Credit limit request 7 is rejected, not pending.")
    if activity.info().attempt == 1:
        if kind == "locked":
            raise OperationalError("UPDATE customers ...", {}, Exception("database is locked"))
        if kind == "gateway_down":
            raise GatewayUnavailable("Stripe did not answer.")
    return f"ok after {activity.info().attempt}"


@workflow.defn(name="ErrorRuleProbeWorkflow")
class ErrorRuleProbeWorkflow:
    @workflow.run
    async def run(self, kind: str) -> str:
        return await workflow.execute_activity(
            flaky,
            kind,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=5),
        )


async def _run(env, kind: str) -> str:
    queue = f"tq-{uuid.uuid4().hex[:10]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ErrorRuleProbeWorkflow],
        activities=[flaky],
        interceptors=[DomainErrorInterceptor()],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await env.client.execute_workflow(
            ErrorRuleProbeWorkflow.run, kind, id=f"probe-{kind}-{queue}", task_queue=queue
        )


async def test_domain_error_is_final_and_typed_by_its_code(ts_env):
    calls.clear()
    with pytest.raises(WorkflowFailureError) as failed:
        await _run(ts_env, "conflict")
    err = failed.value.cause
    assert isinstance(err, ActivityError) and isinstance(err.cause, ApplicationError)
    assert (err.cause.type, err.cause.non_retryable) == ("conflict", True)
    assert err.cause.message == "Credit limit request 7 is rejected, not pending."
    assert calls["conflict"] == 1  # maximum_attempts=5 would allow four more


@pytest.mark.parametrize("kind", ["locked", "gateway_down"])
async def test_transient_errors_are_retried(ts_env, kind):
    calls.clear()
    assert await _run(ts_env, kind) == "ok after 2"
    assert calls[kind] == 2
