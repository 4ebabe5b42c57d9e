"""The one error rule, per workflow family: a domain refusal (an AppError) inside an activity ends
the step after one attempt, as a non-retryable ApplicationError typed by the error's code.

Each test runs the real worker (worker/registry.py, so the real interceptor) on the time-skipping
server, provokes a refusal the domain really raises, and counts attempts with a recording
interceptor. Without the rule the step would be retried (attempts 2, 3, ...) and the workflow
would never finish, so `asyncio.wait_for` would time out."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import Decision
from backroom.audit.context import Actor
from backroom.carts import service as carts
from backroom.carts.errors import CartChangeRefused
from backroom.carts.schemas import CartItem
from backroom.complaints.flow import ComplaintInput, complaint_workflow_id
from backroom.credit import limits
from backroom.credit.flow import CreditHoldInput, LimitChangeInput, hold_workflow_id
from backroom.crm.flow import FollowUpInput, followup_workflow_id
from backroom.orders import service as orders
from tests.helpers import (
    TEST_ACTOR,
    adapters,
    create_customer,
    make_shop,
    place,
    staff,
    uniq,
    withdraw_limit_request,
)
from tests.workflows.test_orders import RefusingCarrier
from worker.registry import Deps, build_worker
from workflows.complaints import ComplaintWorkflow
from workflows.credit_holds import CreditHoldWorkflow
from workflows.credit_limits import CreditLimitChangeWorkflow
from workflows.crm import FollowUpWorkflow
from workflows.orders import OrderFulfillmentWorkflow

MISSING = 987_654_321  # an id no test database reaches


class AttemptLog(Interceptor):
    """Records activity.info().attempt of every activity execution, by activity name."""

    def __init__(self) -> None:
        self.attempts: dict[str, list[int]] = defaultdict(list)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        log = self

        class Recorder(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput):
                info = activity.info()
                log.attempts[info.activity_type].append(info.attempt)
                return await super().execute_activity(input)

        return Recorder(next)


def worker(env, db, settings, task_queue, log: AttemptLog, extra=None):
    deps = Deps(settings=settings, sessionmaker=db.sessionmaker, extra=extra or {})
    return build_worker(env.client, deps, task_queue=task_queue, interceptors=[log])


async def failed_activities(handle: WorkflowHandle) -> list[tuple[str, str, bool, int]]:
    """(activity name, failure type, non_retryable, attempt) of each failed activity in the history."""
    names, attempts, out = {}, {}, []
    async for ev in handle.fetch_history_events():
        if ev.HasField("activity_task_scheduled_event_attributes"):
            names[ev.event_id] = ev.activity_task_scheduled_event_attributes.activity_type.name
        elif ev.HasField("activity_task_started_event_attributes"):
            a = ev.activity_task_started_event_attributes
            attempts[a.scheduled_event_id] = a.attempt
        elif ev.HasField("activity_task_failed_event_attributes"):
            a = ev.activity_task_failed_event_attributes
            info = a.failure.application_failure_info
            out.append(
                (names[a.scheduled_event_id], info.type, info.non_retryable, attempts[a.scheduled_event_id])
            )
    return out


async def workflow_failure(handle: WorkflowHandle) -> ApplicationError:
    """The ApplicationError an activity ended the workflow with (a local activity's, such as the
    approval gate's steps, arrives as the workflow's failure itself)."""
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=20)
    err = failed.value.cause
    if isinstance(err, ActivityError):
        err = err.cause
    assert isinstance(err, ApplicationError), err
    return err


async def test_credit_limit_apply_conflict_is_not_retried(ts_env, sqlite_db, settings, task_queue):
    """The defect that motivated the rule: apply_change raising Conflict used to retry forever."""
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk", "finance"))
    clerk, fin = people["clerk"], people["finance"]
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        req = await limits.request_change(
            s,
            actor=Actor.user(clerk.id, clerk.full_name),
            customer_id=cust.id,
            data=limits.LimitChangeIn(requested_limit_minor=40_000, reason="Good payer"),
        )
    log = AttemptLog()
    async with worker(ts_env, db, settings, task_queue, log):
        handle = await ts_env.client.start_workflow(
            CreditLimitChangeWorkflow.run,
            LimitChangeInput(
                request_id=req.id,
                customer_id=cust.id,
                customer_name=cust.name,
                branch_id=people["branch"].id,
                current_limit_minor=0,
                requested_limit_minor=40_000,
                currency="USD",
                reason="Good payer",
                requested_by_id=clerk.id,
                requested_by_name=clerk.full_name,
            ),
            id=limits.workflow_id(req.id) + uniq("-"),
            task_queue=task_queue,
        )
        row = await _inbox_row(db, handle.id)
        # Meanwhile the request was closed elsewhere: applying it now is a Conflict.
        await withdraw_limit_request(db, req.id)
        await handle.execute_update(
            CreditLimitChangeWorkflow.decide,
            Decision(request_id=row.id, approve=True, user_id=fin.id, user_name=fin.full_name),
        )
        failure = await workflow_failure(handle)
    assert (failure.type, failure.non_retryable) == ("conflict", True)
    assert "not pending" in failure.message
    # One attempt (the worker's own count): settle (the inbox close and the apply in one local
    # activity) returns the refusal instead of failing, so nothing is retried.
    assert log.attempts["credit_limits.settle"] == [1]
    async with db.read_sessionmaker() as s:
        assert (await limits.get_request(s, req.id)).status == "rejected"
        # The decision itself is recorded, as when the inbox close was a step of its own.
        assert (await s.get(ApprovalRequest, row.id)).status == "approved"


async def test_approval_gate_for_unknown_branch_is_not_retried(ts_env, sqlite_db, settings, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk",))
    clerk = people["clerk"]
    log = AttemptLog()
    async with worker(ts_env, db, settings, task_queue, log):
        handle = await ts_env.client.start_workflow(
            CreditLimitChangeWorkflow.run,
            LimitChangeInput(
                request_id=MISSING,
                customer_id=MISSING,
                customer_name="Nobody",
                branch_id=MISSING,
                current_limit_minor=0,
                requested_limit_minor=1,
                currency="USD",
                reason="x",
                requested_by_id=clerk.id,
                requested_by_name=clerk.full_name,
            ),
            id=uniq("credit-limit-"),
            task_queue=task_queue,
        )
        failure = await workflow_failure(handle)
    assert (failure.type, failure.non_retryable) == ("branch_not_found", True)
    assert log.attempts["approvals.open"] == [1]


async def test_credit_hold_for_missing_hold_is_not_retried(ts_env, sqlite_db, settings, task_queue):
    log = AttemptLog()
    async with worker(ts_env, sqlite_db, settings, task_queue, log):
        handle = await ts_env.client.start_workflow(
            CreditHoldWorkflow.run,
            CreditHoldInput(
                hold_id=MISSING,
                branch_id=1,
                customer_id=1,
                title="Credit sale",
                reason="Above available credit",
                amount_minor=5_000,
                currency="USD",
            ),
            id=hold_workflow_id(MISSING) + uniq("-"),
            task_queue=task_queue,
        )
        failure = await workflow_failure(handle)
    assert (failure.type, failure.non_retryable) == ("credit_hold_not_found", True)
    assert log.attempts["credit_holds.hold_fits"] == [1]
    assert await failed_activities(handle) == [("credit_holds.hold_fits", "credit_hold_not_found", True, 1)]


async def test_complaint_breach_for_missing_complaint_is_not_retried(ts_env, sqlite_db, settings, task_queue):
    log = AttemptLog()
    async with worker(ts_env, sqlite_db, settings, task_queue, log):
        handle = await ts_env.client.start_workflow(
            ComplaintWorkflow.run,
            ComplaintInput(
                complaint_id=MISSING,
                branch_id=1,
                title="complaint",
                first_response_minutes=1,
                resolution_minutes=60,
                reopen_window_minutes=60,
            ),
            id=complaint_workflow_id(MISSING) + uniq("-"),
            task_queue=task_queue,
        )
        await ts_env.sleep(120)  # the first-response clock runs out: record_breach refuses
        failure = await workflow_failure(handle)
    assert (failure.type, failure.non_retryable) == ("complaint_not_found", True)
    assert log.attempts["complaints.record_breach"] == [1]


async def test_followup_reminder_for_missing_task_is_not_retried(ts_env, sqlite_db, settings, task_queue):
    log = AttemptLog()
    async with worker(ts_env, sqlite_db, settings, task_queue, log):
        now = await ts_env.get_current_time()
        handle = await ts_env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(task_id=MISSING, due_at=now + timedelta(minutes=5), grace_minutes=30),
            id=followup_workflow_id(MISSING) + uniq("-"),
            task_queue=task_queue,
        )
        await ts_env.sleep(600)
        failure = await workflow_failure(handle)
    assert (failure.type, failure.non_retryable) == ("follow-up_task_not_found", True)
    assert log.attempts["crm.remind_followup"] == [1]


async def test_cart_out_of_stock_is_refused_after_one_pricing(ts_env, sqlite_db, settings, task_queue):
    db = sqlite_db
    settings.workflow_prefix = uniq("t") + "-"
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((1, 0),))
        cart = await carts.create_cart(s, actor=TEST_ACTOR, branch_id=a.id, currency="USD")
    log = AttemptLog()
    async with worker(ts_env, db, settings, task_queue, log):
        with pytest.raises(CartChangeRefused) as refused:
            await asyncio.wait_for(
                carts.send(
                    ts_env.client,
                    cart,
                    "add",
                    CartItem(product_id=p1.id, qty=2),
                    task_queue=task_queue,
                    prefix=settings.workflow_prefix,
                ),
                timeout=20,
            )
    assert refused.value.code == "out_of_stock" and "Only 1 left" in refused.value.detail
    # New carts price through carts.price (codes included); carts.quote serves replayed old runs.
    # One attempt, by the worker's own count; a local activity (cart-local-steps), so no activity
    # task went through the server to fail there.
    assert log.attempts["carts.price"] == [1]
    handle = ts_env.client.get_workflow_handle(carts.workflow_id(cart.id, settings.workflow_prefix))
    assert await failed_activities(handle) == []
    await handle.terminate()


async def test_order_label_refusal_is_not_retried(ts_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),))
    order = await place(db, a, [(p1.id, 1)])
    extra = adapters(settings)
    extra["carrier"] = RefusingCarrier(extra["carrier"])
    log = AttemptLog()
    async with worker(ts_env, db, settings, task_queue, log, extra):
        async with db.read_sessionmaker() as s:
            inp = await orders.start_input(s, order, settings, auto_fulfil=True)
        handle = await ts_env.client.start_workflow(
            OrderFulfillmentWorkflow.run,
            inp,
            id=orders.workflow_id(order.id, uniq("t") + "-"),
            task_queue=task_queue,
        )
        st = await asyncio.wait_for(handle.result(), timeout=30)
    # The workflow catches the refusal and compensates; the step itself ran once.
    assert st.status == "cancelled"
    assert log.attempts["orders.purchase_label"] == [1]
    assert await failed_activities(handle) == [("orders.purchase_label", "label_purchase_failed", True, 1)]


async def _inbox_row(db, workflow_id: str) -> ApprovalRequest:
    for _ in range(200):
        async with db.read_sessionmaker() as s:
            row = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == workflow_id))
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("the approval gate never opened")
