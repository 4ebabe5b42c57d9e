"""Demo cash drawers: 90 days of the demo clerk's shifts (every third day, the two branches in
turn), each with a float, change paid in from the safe, now and then a pay-out, and a count at
close that is mostly right, sometimes short, once in a while over, so the shift reports, the cash
drawer report set and its "over or short" exception have history to show. Written through the
same use cases as the till (audited), then moved back in time. Idempotent: a demo reference
marks the history as written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.branches import cash
from backroom.branches import service as branches
from backroom.branches.models import CashKind, CashMovement, Shift
from backroom.db.base import utcnow

REF = "demo-shift"


async def seed(session, context) -> None:
    clerk = context["users"].get("clerk")
    done = select(CashMovement.id).where(CashMovement.reference.like(f"{REF}-%")).limit(1)
    if clerk is None or await session.scalar(done) is not None:
        return
    if await cash.open_shift_of(session, clerk.id) is not None:
        return  # the clerk is working: leave their drawer alone
    actor = Actor.user(clerk.id, clerk.full_name)
    now = utcnow()
    for n, days_ago in enumerate(range(88, 0, -3)):
        branch = context["branches"][n % len(context["branches"])]
        shift = await branches.open_shift(
            session, actor=actor, branch_id=branch.id, opening_float_minor=10000
        )
        moves = [(CashKind.PAY_IN, 5000, "Change from the safe")]
        if n % 3 == 0:
            moves.append((CashKind.PAY_OUT, 1250 + 100 * (n % 5), "Milk and coffee for the staff room"))
        for kind, amount, reason in moves:
            await cash.record(
                session,
                actor=actor,
                kind=kind,
                amount_minor=amount,
                currency=shift.currency,
                reason=reason,
                reference=f"{REF}-{days_ago}-{kind.value}",
                shift=shift,
            )
        off = -200 if n % 4 == 1 else 100 if n % 7 == 3 else 0
        counted = await cash.expected_cash(session, shift) + off
        await branches.close_shift(
            session,
            actor=actor,
            shift_id=shift.id,
            closing_count_minor=counted,
            note="Counted twice." if off else None,
        )
        # 08:00 to 16:30 in New York (the demo branches' zone), `days_ago` days back.
        start = (now - timedelta(days=days_ago)).replace(hour=13, minute=0, second=0, microsecond=0)
        s = await session.get(Shift, shift.id)
        s.opened_at, s.closed_at = start, start + timedelta(hours=8, minutes=30)
        for i, m in enumerate(
            await session.scalars(select(CashMovement).where(CashMovement.shift_id == shift.id))
        ):
            m.at = start + timedelta(hours=1 + 3 * i)
    await session.flush()
