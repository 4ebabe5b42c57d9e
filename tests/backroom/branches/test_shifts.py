"""Cashier shifts: one open shift per cashier and branch, closed only by its cashier, audited."""

import pytest
from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.branches import cash
from backroom.branches import service as branches
from backroom.branches.errors import NoOpenShift, ShiftAlreadyOpen
from backroom.branches.models import CashKind, CashMovement
from backroom.controls import apply
from backroom.controls.flow import FourEyesDecision
from backroom.controls.models import GatedAction
from backroom.credit import ledger as credit_ledger
from backroom.credit import service as credit
from backroom.credit.schemas import Payment
from backroom.errors import Conflict, NotFound
from tests.helpers import TEST_ACTOR, create_branch, create_customer, create_user, uniq


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


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_a_shift_close_computes_expected_cash_and_the_variance(fresh_db, settings):
    """Issue 15 item 13: cash taken on credit accounts, pay-ins and pay-outs move the drawer;
    a large pay-out waits for a manager and moves it only once applied; the close fixes the
    expected cash and the over/short; one open shift per cashier whatever the branch."""
    db = fresh_db
    settings.cash_payout_approval_over_minor = 5000
    async with db.sessionmaker.begin() as s:
        b, b2 = await create_branch(s), await create_branch(s)
        cashier = await create_user(s, grants=[("clerk", b.id), ("clerk", b2.id)])
        manager = await create_user(s, grants=[("manager", b.id)])
        customer = await create_customer(s, branch=b)
        await credit_ledger.open_account(s, actor=TEST_ACTOR, customer_id=customer.id)
        me = _actor(cashier)
        shift = await branches.open_shift(s, actor=me, branch_id=b.id, opening_float_minor=10_000)
        with pytest.raises(ShiftAlreadyOpen, match="close it first"):
            await branches.open_shift(s, actor=me, branch_id=b2.id)
    pay = Payment(amount_minor=2500, currency="USD", reference=uniq("r"), tender="cash")
    async with db.sessionmaker.begin() as s:
        await credit.post_payment(s, customer_id=customer.id, data=pay, actor=me)
        await credit.post_payment(s, customer_id=customer.id, data=pay, actor=me)  # a retry: once
        await cash.pay(
            s,
            actor=me,
            kind=CashKind.PAY_IN,
            amount_minor=1000,
            reason="Change",
            reference=uniq("c"),
            settings=settings,
        )
        small = await cash.pay(
            s,
            actor=me,
            kind=CashKind.PAY_OUT,
            amount_minor=500,
            reason="Milk",
            reference=uniq("c"),
            settings=settings,
        )
        big = await cash.pay(
            s,
            actor=me,
            kind=CashKind.PAY_OUT,
            amount_minor=8000,
            reason="Window cleaner",
            reference=uniq("c"),
            settings=settings,
        )
    assert isinstance(small, CashMovement) and isinstance(big, GatedAction) and big.kind == "cash_payout"
    async with db.read_sessionmaker() as s:
        assert (await cash.report(s, shift.id)).expected_minor == 10_000 + 2500 + 1000 - 500

    # The manager approves the pay-out: recorded on the shift, applied once.
    decision = FourEyesDecision(
        action_id=big.id, status="approved", decided_by_id=manager.id, decided_by_name="M"
    )
    async with db.sessionmaker.begin() as s:
        assert await apply.settle(s, actor=_actor(manager), decision=decision) == "applied"
        assert await apply.settle(s, actor=_actor(manager), decision=decision) == "applied"
    async with db.sessionmaker.begin() as s:
        closed = await branches.close_shift(s, actor=me, shift_id=shift.id, closing_count_minor=4850)
    assert (closed.expected_cash_minor, closed.variance_minor) == (5000, -150)
    async with db.read_sessionmaker() as s:
        r = await cash.report(s, shift.id)
        close_event = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "shift.close", AuditEvent.entity_id == str(shift.id)
            )
        )
    assert r.totals == {"Credit payment": 2500, "Pay-in": 1000, "Pay-out": -8500}
    assert (r.expected_minor, r.counted_minor, r.variance_minor) == (5000, 4850, -150)
    assert close_event.after["variance_minor"] == -150

    # Cash with no open shift is refused and the payment is not posted either.
    late = Payment(amount_minor=100, currency="USD", reference=uniq("r"), tender="cash")
    with pytest.raises(NoOpenShift):
        async with db.sessionmaker.begin() as s:
            await credit.post_payment(s, customer_id=customer.id, data=late, actor=me)
    async with db.read_sessionmaker() as s:
        assert await credit_ledger.entry_by_reference(s, late.reference) is None
    # A pay-out approved after its shift closed is refused: the cash stayed in the drawer.
    async with db.sessionmaker.begin() as s:
        again = await branches.open_shift(s, actor=me, branch_id=b2.id)
        pending = await cash.pay(
            s,
            actor=me,
            kind=CashKind.PAY_OUT,
            amount_minor=9000,
            reason="Repairs",
            reference=uniq("c"),
            settings=settings,
        )
    async with db.sessionmaker.begin() as s:
        await branches.close_shift(s, actor=me, shift_id=again.id, closing_count_minor=0)
    decision = FourEyesDecision(
        action_id=pending.id, status="approved", decided_by_id=manager.id, decided_by_name="M"
    )
    async with db.sessionmaker.begin() as s:
        assert await apply.settle(s, actor=_actor(manager), decision=decision) == "failed"


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_the_cash_drawer_report_adds_up_the_shifts(fresh_db):
    """The cash drawer report set: shifts, expected and counted cash, the over/short split into
    shortages and overages, cash paid in and out, by cashier; the shifts that closed off are
    the report's exceptions, named by cashier and linked to the shift report."""
    from backroom.reports import service as reports

    async with fresh_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        ann = await create_user(s, grants=[("clerk", b.id)], full_name="Ann Till")
        bob = await create_user(s, grants=[("clerk", b.id)], full_name="Bob Till")
        shifts = {}
        for user, pay_out, off in ((ann, 1_250, -200), (bob, 0, 100)):
            me = _actor(user)
            shift = await branches.open_shift(s, actor=me, branch_id=b.id, opening_float_minor=10_000)
            await cash.record(
                s,
                actor=me,
                kind=CashKind.PAY_IN,
                amount_minor=5_000,
                currency="USD",
                reason="Change",
                reference=uniq(),
            )
            if pay_out:
                await cash.record(
                    s,
                    actor=me,
                    kind=CashKind.PAY_OUT,
                    amount_minor=pay_out,
                    currency="USD",
                    reason="Milk",
                    reference=uniq(),
                )
            expected = await cash.expected_cash(s, shift)
            await branches.close_shift(s, actor=me, shift_id=shift.id, closing_count_minor=expected + off)
            shifts[user.id] = shift.id
    async with fresh_db.read_sessionmaker() as s:
        report = await reports.build_report(s, function="cash", edition="daily", day=None, branch_ids=[b.id])
    got = {x.measure: x.current for x in report.summary}
    money = {k: [(a.amount_minor, a.currency) for a in f.money] for k, f in got.items() if f.money}
    assert (got["opened"].value, got["closed"].value, got["off"].value, got["off_rate"].value) == (
        2,
        2,
        2,
        1.0,
    )
    assert money["expected"] == [(15_000 - 1_250 + 15_000, "USD")]
    assert money["counted"] == [(28_750 - 200 + 100, "USD")]
    assert (money["variance"], money["short"], money["over"]) == (
        [(-100, "USD")],
        [(200, "USD")],
        [(100, "USD")],
    )
    assert (money["pay_ins"], money["pay_outs"], got["pay_out_count"].value) == (
        [(10_000, "USD")],
        [(1_250, "USD")],
        1,
    )
    by_user = next(x for x in report.breakdowns if x.dimension == "user")
    assert {r.name: r.figures["variance"].money[0].amount_minor for r in by_user.rows} == {
        ann.full_name: -200,
        bob.full_name: 100,
    }
    off = sorted(report.exceptions, key=lambda e: e.record_id)
    assert [e.link for e in off] == [f"/shifts/{shifts[ann.id]}/report", f"/shifts/{shifts[bob.id]}/report"]
    assert off[0].description == f"{ann.full_name}: counted 135.50 USD, expected 137.50 USD (-2.00 USD)"
