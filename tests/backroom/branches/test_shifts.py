"""Cashier shifts: one open shift per cashier and branch, closed only by its cashier, audited."""

import pytest
from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.branches import service as branches
from backroom.errors import Conflict, NotFound
from tests.helpers import create_branch, create_user


async def test_one_open_shift_per_cashier_and_only_the_cashier_closes_it(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        cashier = await create_user(s, grants=[("clerk", b.id)])
        other = await create_user(s, grants=[("clerk", b.id)])
        me = _actor(cashier)
        shift = await branches.open_shift(s, actor=me, branch_id=b.id, opening_float_minor=10_000)
        with pytest.raises(Conflict):
            await branches.open_shift(s, actor=me, branch_id=b.id)
        with pytest.raises(NotFound):  # someone else's shift is not theirs to close
            await branches.close_shift(s, actor=_actor(other), shift_id=shift.id, closing_count_minor=0)
        closed = await branches.close_shift(s, actor=me, shift_id=shift.id, closing_count_minor=12_550)
        assert (closed.status, closed.closing_count_minor) == ("closed", 12_550)
        with pytest.raises(Conflict):
            await branches.close_shift(s, actor=me, shift_id=shift.id, closing_count_minor=1)
        # After closing, a new shift may open.
        again = await branches.open_shift(s, actor=me, branch_id=b.id)
        assert again.id != shift.id
    async with db.read_sessionmaker() as s:
        actions = (
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "shift",
                    AuditEvent.entity_id.in_([str(shift.id), str(again.id)]),
                )
            )
        ).all()
    assert sorted(actions) == ["shift.close", "shift.open", "shift.open"]


def _actor(user) -> Actor:
    return Actor.user(user.id, user.full_name)
