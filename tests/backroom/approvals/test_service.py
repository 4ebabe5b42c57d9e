"""The approval inbox projection: idempotent writes, escalation only upward, who may decide."""

from datetime import timedelta

from sqlalchemy import func, select

from backroom.approvals import service
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import ApprovalAsk, ApprovalLevel, CloseRequest, EscalateRequest, OpenRequest
from backroom.audit.models import AuditEvent
from backroom.auth.service import principal_for
from backroom.db.base import utcnow
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
