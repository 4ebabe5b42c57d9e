"""CreditLimitActivities.apply/close/settle: applied once however often they run; a closed
request refuses (settle: records the decision and returns the refusal)."""

import pytest
from sqlalchemy import func, or_, select

from activities.approvals import ApprovalActivities
from activities.credit_limits import CreditLimitActivities
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import CloseRequest
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.credit import limits
from backroom.credit.flow import LimitDecision, SettleRefusal
from backroom.customers.models import Customer
from backroom.errors import Conflict
from tests.activities.test_approvals import _open
from tests.helpers import create_customer, staff


async def _request(db, people, new_limit):
    clerk = people["clerk"]
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        req = await limits.request_change(
            s,
            actor=Actor.user(clerk.id, clerk.full_name),
            customer_id=cust.id,
            data=limits.LimitChangeIn(requested_limit_minor=new_limit, reason="Good payer"),
        )
    return cust, req


async def test_apply_twice_changes_the_limit_once(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk", "finance"))
    cust, req = await _request(db, people, 30_000)
    acts = CreditLimitActivities(deps.sessionmaker)
    decision = LimitDecision(request_id=req.id, approved_by_id=people["finance"].id, reason="ok")
    await act_env.run(acts.apply, decision)
    await act_env.run(acts.apply, decision)  # a retried attempt
    async with db.read_sessionmaker() as s:
        assert (await s.get(Customer, cust.id)).credit_limit_minor == 30_000
        assert (await limits.get_request(s, req.id)).status == "applied"
        applied = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "credit_limit.apply", AuditEvent.entity_id == str(cust.id))
        )
    assert applied == 1


async def test_apply_after_the_request_was_closed_is_a_conflict(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk",))
    cust, req = await _request(db, people, 20_000)
    acts = CreditLimitActivities(deps.sessionmaker)
    decision = LimitDecision(request_id=req.id, reason="no")
    await act_env.run(acts.close, decision, "rejected")
    await act_env.run(acts.close, decision, "expired")  # only a pending request changes
    with pytest.raises(Conflict, match="rejected, not pending"):
        await act_env.run(acts.apply, decision)
    async with db.read_sessionmaker() as s:
        assert (await limits.get_request(s, req.id)).status == "rejected"
        assert (await s.get(Customer, cust.id)).credit_limit_minor == 0


async def _gate(act_env, deps, people):
    """An open inbox row for the activity environment's workflow, and the finance user's close."""
    wf = act_env.info.workflow_id
    row_id = await act_env.run(ApprovalActivities(deps.sessionmaker).open, _open(people["branch"].id, wf))
    fin = people["finance"]
    return CloseRequest(
        request_id=row_id, workflow_id=wf, status="approved", decided_by_id=fin.id, decided_by_name="F"
    )


async def _actions(s, approval_id: int, customer_id: int) -> list[str]:
    """The decision's audit events: the inbox row's and the customer's."""
    rows = await s.scalars(
        select(AuditEvent.action).where(
            or_(
                (AuditEvent.entity_type == "approval") & (AuditEvent.entity_id == str(approval_id)),
                (AuditEvent.entity_type == "customer") & (AuditEvent.entity_id == str(customer_id)),
            ),
            AuditEvent.action.in_(
                ["approval.approved", "approval.rejected", "credit_limit.apply", "credit_limit.rejected"]
            ),
        )
    )
    return sorted(rows.all())


async def test_settle_twice_records_the_decision_and_applies_the_limit_once(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk", "finance"))
    cust, req = await _request(db, people, 40_000)
    close = await _gate(act_env, deps, people)
    acts = CreditLimitActivities(deps.sessionmaker)
    assert await act_env.run(acts.settle, close, req.id) is None
    assert await act_env.run(acts.settle, close, req.id) is None  # a retried attempt
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, close.request_id)).status == "approved"
        assert (await limits.get_request(s, req.id)).status == "applied"
        assert (await s.get(Customer, cust.id)).credit_limit_minor == 40_000
        assert await _actions(s, close.request_id, cust.id) == ["approval.approved", "credit_limit.apply"]


async def test_settle_of_a_rejection_closes_the_request(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk", "finance"))
    cust, req = await _request(db, people, 40_000)
    close = (await _gate(act_env, deps, people)).model_copy(update={"status": "rejected", "reason": "no"})
    assert await act_env.run(CreditLimitActivities(deps.sessionmaker).settle, close, req.id) is None
    async with db.read_sessionmaker() as s:
        assert (await limits.get_request(s, req.id)).status == "rejected"
        assert (await s.get(Customer, cust.id)).credit_limit_minor == 0
        assert await _actions(s, close.request_id, cust.id) == ["approval.rejected", "credit_limit.rejected"]


async def test_settle_of_a_request_closed_meanwhile_records_the_decision_and_returns_the_refusal(
    act_env, deps, sqlite_db
):
    db, people = sqlite_db, await staff(sqlite_db, roles=("clerk", "finance"))
    cust, req = await _request(db, people, 40_000)
    close = await _gate(act_env, deps, people)
    acts = CreditLimitActivities(deps.sessionmaker)
    await act_env.run(acts.close, LimitDecision(request_id=req.id, reason="withdrawn"), "rejected")
    refusal = await act_env.run(acts.settle, close, req.id)
    assert isinstance(refusal, SettleRefusal) and refusal.code == "conflict"
    assert "not pending" in refusal.detail
    async with db.read_sessionmaker() as s:
        assert (await s.get(ApprovalRequest, close.request_id)).status == "approved"
        assert (await limits.get_request(s, req.id)).status == "rejected"
        assert (await s.get(Customer, cust.id)).credit_limit_minor == 0
        assert await _actions(s, close.request_id, cust.id) == ["approval.approved", "credit_limit.rejected"]


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_apply_audits_the_limit_the_customer_had_when_it_changed(db):
    """The customer's limit moves in one statement while it is still the limit the request was
    made against; if it moved meanwhile, the audit still says what it was just before."""
    people = await staff(db, roles=("clerk", "finance"))
    fin = people["finance"]
    for moved_meanwhile in (False, True):
        cust, req = await _request(db, people, 30_000)
        if moved_meanwhile:
            async with db.sessionmaker.begin() as s:
                (await s.get(Customer, cust.id)).credit_limit_minor = 12_345
        async with db.sessionmaker.begin() as s:
            await limits.apply_change(
                s,
                actor=Actor.user(fin.id, fin.full_name),
                request_id=req.workflow_id,
                decided_by_id=fin.id,
                reason=None,
            )
        async with db.read_sessionmaker() as s:
            assert (await s.get(Customer, cust.id)).credit_limit_minor == 30_000
            event = await s.scalar(
                select(AuditEvent).where(
                    AuditEvent.action == "credit_limit.apply", AuditEvent.entity_id == str(cust.id)
                )
            )
        assert event.before == {"credit_limit_minor": 12_345 if moved_meanwhile else req.current_limit_minor}
        assert (event.after["credit_limit_minor"], event.after["request_id"]) == (30_000, req.id)
        assert event.branch_id == cust.home_branch_id
