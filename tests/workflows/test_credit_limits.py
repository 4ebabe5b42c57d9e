"""CreditLimitChangeWorkflow through the approval gate, on the time-skipping server."""

import asyncio

import pytest
from sqlalchemy import func, select

from backroom.approvals import service as approvals
from backroom.approvals.errors import ApprovalNotOpen, DecisionRefused
from backroom.approvals.models import ApprovalRequest
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.audit.service import verify
from backroom.auth import service as auth
from backroom.credit import limits
from backroom.credit.flow import LIMIT_REV, LimitChangeInput, limit_change_workflow_id
from backroom.credit.schemas import LimitChangeIn
from backroom.customers.models import Customer
from backroom.customers.schemas import CustomerCreate
from backroom.customers.service import create_customer
from backroom.errors import Conflict
from policies import load_enforcer
from tests.helpers import create_branch, create_user, decide, withdraw_limit_request
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


async def _start(env, w, task_queue, requester, new_limit=50_000, rev=LIMIT_REV):
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
            rev=rev,
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


@pytest.mark.parametrize("rev", [0, LIMIT_REV], ids=["queued-before-revisions", "current"])
async def test_finance_approves_and_limit_applies_once(
    ts_env, world, settings, task_queue, save_history, rev
):
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk"], rev=rev)
        # The requester may not approve their own request, even holding finance elsewhere.
        fin = await _principal(db, world["fin"])
        outcome = await decide(db, ts_env.client, row, fin, approve=True, reason=None)
        assert outcome.status == "approved" and outcome.decided_by_id == world["fin"].id
        # The decision's own transaction closed the inbox row and applied the new limit, as the
        # approver, before the workflow heard of it.
        async with db.read_sessionmaker() as s:
            assert (await s.get(ApprovalRequest, row.id)).status == "approved"
            assert (await s.get(Customer, world["customer"].id)).credit_limit_minor == 50_000
            applied = await s.scalar(
                select(AuditEvent).where(
                    AuditEvent.action == "credit_limit.apply", AuditEvent.workflow_id == handle.id
                )
            )
            assert (applied.actor_type, applied.actor_id) == ("user", str(world["fin"].id))
        result = await handle.result()
        assert result.status == "applied"
        # Older histories (credit_limit_approved, _local_gate, _settled, _recorded) stay as saved.
        if rev:
            await save_history(handle, "credit_limit_approved_rev1")
        # The gate's two changes: asked with patch markers (each with its TemporalChangeVersion
        # upsert) by a run queued before revisions, taken without by the current revision.
        events = (await handle.fetch_history()).events
        patches = [
            e.marker_recorded_event_attributes.marker_name
            for e in events
            if e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_patch"
        ]
        upserts = [e for e in events if e.HasField("upsert_workflow_search_attributes_event_attributes")]
        assert (len(patches), len(upserts)) == ((0, 0) if rev else (2, 2))
        # A repeated decision is refused: the request is closed.
        with pytest.raises(ApprovalNotOpen):
            await decide(db, ts_env.client, row, fin, approve=True, reason=None)
    async with db.read_sessionmaker() as s:
        applies = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "credit_limit.apply", AuditEvent.workflow_id == handle.id)
        )
        assert applies == 1  # the workflow did not apply it again
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
            await decide(db, ts_env.client, row, me, approve=True, reason=None)
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
            await decide(db, ts_env.client, row, fin, approve=False, reason="  ")
        # A clerk holds no approve permission at all.
        clerk = await _principal(db, world["clerk"])
        with pytest.raises(Exception, match="may not"):
            await decide(db, ts_env.client, row, clerk, approve=True, reason=None)
        outcome = await decide(db, ts_env.client, row, fin, approve=False, reason="Too risky")
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


async def test_of_decisions_sent_at_once_exactly_one_is_settled_and_audited(
    ts_env, world, settings, task_queue
):
    """Decisions recorded at once by two approvers: one wins, the limit is applied once and
    each write is audited once."""
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk"], new_limit=60_000)
        deciders = [await _principal(db, u) for u in (world["fin"], world["clerk_fin"])]
        sent = await asyncio.gather(
            *(decide(db, ts_env.client, row, p, approve=i != 1, reason="no") for i, p in enumerate(deciders)),
            return_exceptions=True,
        )
        won = [o for o in sent if not isinstance(o, BaseException)]
        assert len(won) == 1, sent
        assert all(isinstance(e, ApprovalNotOpen) for e in sent if isinstance(e, BaseException)), sent
        result = await handle.result()
    expected = "applied" if won[0].status == "approved" else "rejected"
    assert result.status == expected
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, row.id)).decided_by_id == won[0].decided_by_id
        assert (await limits.get_request(s, req.id)).status == expected
        limit = (await s.get(Customer, world["customer"].id)).credit_limit_minor
        assert limit == (60_000 if expected == "applied" else 0)
        actions = (
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(
                        [
                            "approval.approved",
                            "approval.rejected",
                            "credit_limit.apply",
                            "credit_limit.rejected",
                        ]
                    ),
                    AuditEvent.workflow_id == handle.id,
                )
            )
        ).all()
    assert sorted(actions) == sorted(
        ["approval.approved", "credit_limit.apply"]
        if expected == "applied"
        else ["approval.rejected", "credit_limit.rejected"]
    )


async def test_a_decision_on_a_request_closed_meanwhile_is_refused_and_writes_nothing(
    ts_env, world, settings, task_queue
):
    """The limit is settled in the decision's transaction: when it can no longer be (the request
    was closed elsewhere), the decision is refused and the inbox row stays pending."""
    db = world["db"]
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle, req, row = await _start(ts_env, world, task_queue, world["clerk"], new_limit=65_000)
        await withdraw_limit_request(db, req.id)
        async with db.read_sessionmaker() as s:
            before = await s.scalar(select(func.count()).select_from(AuditEvent))
        with pytest.raises(Conflict, match="not pending"):
            await decide(db, ts_env.client, row, await _principal(db, world["fin"]), approve=True)
        async with db.read_sessionmaker() as s:
            assert (await s.get(ApprovalRequest, row.id)).status == "pending"
            assert await s.scalar(select(func.count()).select_from(AuditEvent)) == before
            assert (await s.get(Customer, world["customer"].id)).credit_limit_minor == 0
        await handle.terminate("test over")
