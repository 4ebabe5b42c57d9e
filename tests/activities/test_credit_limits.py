"""CreditLimitActivities.apply/close: applied once however often they run; a closed request refuses."""

import pytest
from sqlalchemy import func, select

from activities.credit_limits import CreditLimitActivities
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.credit import limits
from backroom.credit.flow import LimitDecision
from backroom.customers.models import Customer
from backroom.errors import Conflict
from tests.custops_helpers import create_customer, staff


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
