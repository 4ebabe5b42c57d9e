"""The approval inbox projection: idempotent writes, escalation only upward, who may decide."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backroom.approvals import service
from backroom.approvals.errors import ApprovalNotOpen
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import ApprovalAsk, ApprovalLevel, CloseRequest, EscalateRequest, OpenRequest
from backroom.audit.models import AuditEvent
from backroom.auth.service import principal_for
from backroom.db.base import utcnow
from backroom.starts import service as starts
from backroom.starts.models import WorkflowSignal
from policies import load_enforcer
from tests.helpers import create_branch, create_user, uniq


def _open(branch_id: int, requester_id: int, wid: str) -> OpenRequest:
    ask = ApprovalAsk(
        key="limit",
        branch_id=branch_id,
        subject_type="customer",
        subject_id="1",
        title="Raise the limit",
        requested_by_id=requester_id,
        requested_by_name="Clerk",
        function="credit",
        levels=[ApprovalLevel(role="finance", hours=48), ApprovalLevel(role="manager", hours=24)],
    )
    return OpenRequest(ask=ask, workflow_id=wid, run_id="run-1", deadline_at=utcnow() + timedelta(hours=48))


async def _audit_count(s, entity_id: int) -> int:
    return await s.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_type == "approval", AuditEvent.entity_id == str(entity_id))
    )


async def test_open_escalate_close_are_idempotent_and_audited(db):
    wid = uniq("credit-limit-")
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        first = await service.open_request(s, req=_open(b.id, clerk.id, wid))
        again = await service.open_request(s, req=_open(b.id, clerk.id, wid))
        assert again.id == first.id  # a retried activity makes no second inbox row
        deadline = utcnow() + timedelta(hours=24)
        up = EscalateRequest(
            request_id=first.id, workflow_id=wid, level=2, roles=["manager"], deadline_at=deadline
        )
        await service.escalate(s, req=up)
        await service.escalate(s, req=up)  # repeated: no change
        down = EscalateRequest(
            request_id=first.id, workflow_id=wid, level=1, roles=["finance"], deadline_at=deadline
        )
        await service.escalate(s, req=down)  # a stale, lower level never moves it back
        done = CloseRequest(request_id=first.id, workflow_id=wid, status="approved", decided_by_id=None)
        await service.close(s, req=done)
        await service.close(s, req=CloseRequest(request_id=first.id, workflow_id=wid, status="rejected"))
    async with db.read_sessionmaker() as s:
        row = await s.get(ApprovalRequest, first.id)
        assert (row.level, row.roles, row.status) == (2, "manager", "approved")
        # open + escalate + close: one event each, however often the activities ran.
        assert await _audit_count(s, first.id) == 3


async def test_who_may_decide_and_see(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        other = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        finance = await create_user(s, grants=[("finance", b.id)])
        far_finance = await create_user(s, grants=[("finance", other.id)])
        warehouse = await create_user(s, grants=[("warehouse", b.id)])
        row = await service.open_request(s, req=_open(b.id, clerk.id, uniq("credit-limit-")))
        users = [clerk, finance, far_finance, warehouse]
        enforcer = load_enforcer()
        p = {u.id: await principal_for(s, u, enforcer) for u in users}
    assert service.may_decide(p[finance.id], row)
    assert not service.may_decide(p[far_finance.id], row)  # finance, but of another branch
    assert not service.may_decide(p[clerk.id], row)  # the requester holds no deciding role
    assert service.may_see(p[clerk.id], row)  # but sees their own request
    assert not service.may_see(p[warehouse.id], row)


async def test_a_decision_is_recorded_audited_and_queued_for_the_workflow(db):
    wid = uniq("credit-limit-")
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        finance = await create_user(s, grants=[("finance", b.id)], full_name="Fin Officer")
        row = await service.open_request(s, req=_open(b.id, clerk.id, wid))
        p = await principal_for(s, finance, load_enforcer())
    async with db.sessionmaker() as s:
        async with s.begin():
            outcome = await service.decide(s, request_id=row.id, p=p, approve=False, reason=" Too high ")
        assert starts.take_queued(s) == []  # nothing the reply waits for
        told = starts.take_later(s)
    assert (outcome.status, outcome.decided_by_name, outcome.reason, outcome.settled) == (
        "rejected",
        "Fin Officer",
        "Too high",
        False,  # this ask names no settling step
    )
    assert [(t.workflow_id, t.signal, t.args["user_id"], t.args["approve"]) for t in told] == [
        (wid, service.DECIDED_SIGNAL, finance.id, False)
    ]
    async with db.read_sessionmaker() as s:
        closed = await s.get(ApprovalRequest, row.id)
        assert (closed.status, closed.decided_by_id, closed.decision_reason) == (
            "rejected",
            finance.id,
            "Too high",
        )
        event = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.entity_id == str(row.id), AuditEvent.action == "approval.rejected"
            )
        )
        assert (event.actor_type, event.actor_id, event.workflow_id) == ("user", str(finance.id), wid)
        assert (await s.get(WorkflowSignal, told[0].id)).status == "pending"  # the outbox row committed
    # A second decision, and the gate's own close, find it decided.
    async with db.sessionmaker.begin() as s:
        with pytest.raises(ApprovalNotOpen):
            await service.decide(s, request_id=row.id, p=p, approve=True, reason=None)
    async with db.sessionmaker.begin() as s:
        first = await service.close(s, req=CloseRequest(request_id=row.id, workflow_id=wid, status="expired"))
    assert (first.status, first.decided_by_id, first.reason) == ("rejected", finance.id, "Too high")
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, row.id)).status == "rejected"
        assert await _audit_count(s, row.id) == 2  # open, rejected: the expiry changed nothing


async def test_the_gates_own_close_retried_returns_nothing(db):
    wid = uniq("credit-limit-")
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
        row = await service.open_request(s, req=_open(b.id, clerk.id, wid))
        expire = CloseRequest(request_id=row.id, workflow_id=wid, status="expired")
        assert await service.close(s, req=expire) is None
        assert await service.close(s, req=expire) is None  # its own close, retried: nothing to adopt
