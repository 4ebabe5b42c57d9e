"""CreditLimitChangeWorkflow through the approval gate, on the time-skipping server."""

import asyncio

import pytest
from sqlalchemy import select

from backroom.approvals import service as approvals
from backroom.approvals.errors import DecisionRefused
from backroom.approvals.models import ApprovalRequest
from backroom.audit.context import Actor
from backroom.audit.service import verify
from backroom.auth import service as auth
from backroom.credit import limits
from backroom.credit.flow import LimitChangeInput, limit_change_workflow_id
from backroom.credit.schemas import LimitChangeIn
from backroom.customers.models import Customer
from backroom.customers.schemas import CustomerCreate
from backroom.customers.service import create_customer
from policies import load_enforcer
from tests.helpers import create_branch, create_user
from worker.registry import Deps, build_worker
from workflows.credit_limits import CreditLimitChangeWorkflow


@pytest.fixture
async def world(sqlite_db):
    async with sqlite_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)], full_name="Cleo Clerk")
        fin = await create_user(s, grants=[("finance", b.id)], full_name="Fin Officer")
        mgr = await create_user(s, grants=[("manager", b.id)], full_name="Mo Manager")
        clerk_fin = await create_user(s, grants=[("finance", b.id), ("clerk", b.id)])
        actor = Actor.user(clerk.id, clerk.full_name)
        cust = await create_customer(
            s, actor=actor, data=CustomerCreate(name="Ada Shop", home_branch_id=b.id)
        )
    return {
        "db": sqlite_db,
        "branch": b,
        "clerk": clerk,
        "fin": fin,
        "mgr": mgr,
        "clerk_fin": clerk_fin,
        "customer": cust,
    }


async def _principal(db, user):
    async with db.read_sessionmaker() as s:
        return await auth.principal_for(s, user, load_enforcer())


async def _start(env, w, task_queue, requester, new_limit=50_000):
    db = w["db"]
    async with db.sessionmaker.begin() as s:
        req = await limits.request_change(
            s,
            actor=Actor.user(requester.id, requester.full_name),
            customer_id=w["customer"].id,
            data=LimitChangeIn(requested_limit_minor=new_limit, reason="Good payer"),
        )
    handle = await env.client.start_workflow(
        CreditLimitChangeWorkflow.run,
        LimitChangeInput(
            request_id=req.id,
            customer_id=w["customer"].id,
            customer_name="Ada Shop",
            branch_id=w["branch"].id,
            current_limit_minor=req.current_limit_minor,
            requested_limit_minor=new_limit,
            currency="USD",
            reason="Good payer",
            requested_by_id=requester.id,
            requested_by_name=requester.full_name,
        ),
        id=limit_change_workflow_id(req.id),
        task_queue=task_queue,
    )
    row = None
    for _ in range(100):  # the inbox row appears as soon as the gate's first activity ran
        async with db.read_sessionmaker() as s:
            row = await s.scalar(select(ApprovalRequest).where(ApprovalRequest.workflow_id == handle.id))
        if row:
            break
        await asyncio.sleep(0.05)
    assert row is not None and row.status == "pending" and row.roles == "finance"
    return handle, req, row


async def test_finance_approves_and_limit_applies_once(ts_env, world, settings, task_queue, save_history):
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk"])
        # The requester may not approve their own request, even holding finance elsewhere.
        fin = await _principal(db, world["fin"])
        outcome = await approvals.send_decision(ts_env.client, row=row, p=fin, approve=True, reason=None)
        assert outcome.status == "approved" and outcome.decided_by_id == world["fin"].id
        # The caller learns the outcome after the inbox projection was written.
        async with db.read_sessionmaker() as s:
            assert (await s.get(ApprovalRequest, row.id)).status == "approved"
        result = await handle.result()
        assert result.status == "applied"
        await save_history(handle, "credit_limit_approved")
        # A repeated decision is refused (the workflow has closed).
        with pytest.raises(Exception):
            await approvals.send_decision(ts_env.client, row=row, p=fin, approve=True, reason=None)
    async with db.read_sessionmaker() as s:
        assert (await s.get(Customer, world["customer"].id)).credit_limit_minor == 50_000
        assert (await limits.get_request(s, req.id)).status == "applied"
        assert (await verify(s)).ok


async def test_self_approval_and_reasonless_rejection_are_refused(ts_env, world, settings, task_queue):
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk_fin"], new_limit=70_000)
        me = await _principal(db, world["clerk_fin"])
        with pytest.raises(DecisionRefused):
            await approvals.send_decision(ts_env.client, row=row, p=me, approve=True, reason=None)
        # The validator refuses it too, even if the API check were bypassed.
        from temporalio.client import WorkflowUpdateFailedError

        from backroom.approvals.schemas import Decision

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                "decide",
                Decision(request_id=row.id, approve=True, user_id=world["clerk_fin"].id, user_name="x"),
            )
        assert "own request" in refused.value.cause.message
        fin = await _principal(db, world["fin"])
        with pytest.raises(DecisionRefused, match="reason"):
            await approvals.send_decision(ts_env.client, row=row, p=fin, approve=False, reason="  ")
        # A clerk holds no approve permission at all.
        clerk = await _principal(db, world["clerk"])
        with pytest.raises(Exception, match="may not"):
            await approvals.send_decision(ts_env.client, row=row, p=clerk, approve=True, reason=None)
        outcome = await approvals.send_decision(
            ts_env.client, row=row, p=fin, approve=False, reason="Too risky"
        )
        assert outcome.status == "rejected"
        assert (await handle.result()).status == "rejected"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Customer, world["customer"].id)).credit_limit_minor == 0
        req = await limits.get_request(s, req.id)
        assert req.status == "rejected" and req.decision_reason == "Too risky"


async def test_escalates_to_manager_then_expires(ts_env, world, settings, task_queue):
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk"], new_limit=80_000)
        mgr = await _principal(db, world["mgr"])
        async with db.read_sessionmaker() as s:
            assert row.id not in [r.id for r in await approvals.inbox(s, p=mgr)]
        await ts_env.sleep(48 * 3600 + 60)
        async with db.read_sessionmaker() as s:
            esc = await s.get(ApprovalRequest, row.id)
            assert (esc.level, esc.roles, esc.status) == (2, "finance,manager", "pending")
            assert row.id in [r.id for r in await approvals.inbox(s, p=mgr)]
        await ts_env.sleep(24 * 3600 + 60)
        assert (await handle.result()).status == "expired"
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, row.id)).status == "expired"
        assert (await limits.get_request(s, req.id)).status == "expired"
