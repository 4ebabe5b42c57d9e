"""Loyalty use cases against the real order lifecycle, credit sales and the checkout price()."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backroom.audit.models import AuditEvent
from backroom.carts.errors import CodeRefused
from backroom.credit import ledger as credit_ledger
from backroom.credit import service as credit
from backroom.credit.schemas import CreditSale
from backroom.customers.service import timeline
from backroom.db.base import utcnow
from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.loyalty.errors import NotEnoughPoints, ReasonRequired
from backroom.loyalty.models import LoyaltyAdjustment, LoyaltyEntry, LoyaltyMember
from backroom.loyalty.schemas import ProgramUpdate
from backroom.notifications.models import Notification
from backroom.orders import service as orders
from backroom.orders.models import Order
from backroom.settings import Settings
from backroom.starts.models import WorkflowStart
from tests.helpers import TEST_ACTOR, create_customer, make_member, make_program, make_shop, place_with

pytestmark = pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)


async def _set(db, order, status, **data):
    async with db.sessionmaker.begin() as s:
        await orders.set_status(
            s,
            actor=TEST_ACTOR,
            order_id=order.id,
            status=status,
            message=status,
            key=f"k-{order.id}-{status}",
            data=data,
        )


async def test_points_earned_on_delivery_redeemed_at_checkout_given_back_and_clawed_back(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s, prices=(10_000,), stock=((10, 0),))
        program = await make_program(s, currency="USD", point_value_minor=1, min_redeem_points=100)
        customer, member = await make_member(s, program, branch=a)
    # A 100.00 USD order delivered: 100 points (Bronze, 1 per unit; discount-free).
    async with db.sessionmaker.begin() as s:
        first = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id)
    await _set(db, first, "delivered")
    await _set(db, first, "delivered")  # the same event again earns nothing more
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 100
    # Paying with points: the discount is the second source of price(), the points go FIFO.
    async with db.sessionmaker.begin() as s:
        second = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id, codes=["POINTS"])
        assert second.discount_minor == 100  # 100 points x 0.01 USD
        assert await ledger.balance(s, member.id) == 0
    # Cancelled: the points come back.
    await _set(db, second, "cancelled")
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 100
    # Spend them again, then refund the order that earned them: the spent points become debt.
    async with db.sessionmaker.begin() as s:
        third = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id, codes=["POINTS"])
        assert third.discount_minor == 100
    await _set(db, first, "refunded")
    async with db.read_sessionmaker() as s:
        assert await ledger.balance(s, member.id) == 0
        m = await loyalty.member_of(s, customer.id)
        assert m.debt_points == 100
        card = await loyalty.card(s, customer.id)
        assert card.debt_points == 100 and card.balance == 0
        kinds = [e.kind for e in card.ledger]
        assert kinds.count("earn") == 1 and kinds.count("redeem") == 2


async def test_points_need_enough_balance_and_a_member(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s, prices=(10_000,), stock=((10, 0),))
        program = await make_program(s, currency="USD", min_redeem_points=100)
        customer, member = await make_member(s, program, branch=a)
    # No points yet: the order is refused with the reason, and nothing is placed.
    with pytest.raises(CodeRefused, match="At least 100 points are needed; you have 0"):
        async with db.sessionmaker.begin() as s:
            await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id, codes=["POINTS"])
    # Not a member at all.
    async with db.sessionmaker.begin() as s:
        stranger = await create_customer(s, branch=a)
    with pytest.raises(CodeRefused, match="Only loyalty members"):
        async with db.sessionmaker.begin() as s:
            await place_with(s, a, [(products[0].id, 1)], customer_id=stranger.id, codes=["POINTS"])
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Order)) == 0
    # A direct over-redemption is refused and writes nothing.
    with pytest.raises(NotEnoughPoints):
        async with db.sessionmaker.begin() as s:
            await ledger.take(s, member, points=1, kind="redeem", key="x", now=utcnow())
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LoyaltyEntry)) == 0


async def test_credit_sales_earn_tiers_move_and_the_member_hears_of_it(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _, _ = await make_shop(s)
        program = await make_program(s, currency="USD")
        customer, _ = await make_member(s, program, branch=a, credit_limit_minor=10_000_000)
        await credit_ledger.open_account(s, actor=TEST_ACTOR, customer_id=customer.id)
    async with db.sessionmaker.begin() as s:
        await credit.sell_on_credit(
            s,
            customer_id=customer.id,
            data=CreditSale(amount_minor=60_000, currency="USD", reference="INV-1", description="Timber"),
            actor=TEST_ACTOR,
            settings=Settings(),
        )
    async with db.read_sessionmaker() as s:
        card = await loyalty.card(s, customer.id)
        assert card.balance == 600
        assert card.tier == "Silver" and card.next_tier == "Gold"
        assert card.to_next_tier_minor == 200_000 - 60_000
        note = await s.scalar(select(Notification).where(Notification.kind == "loyalty_tier"))
        assert note is not None and "Silver" in note.subject
        changes = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "loyalty.tier_change"))
        ).all()
        assert [c.after["tier"] for c in changes] == ["Bronze", "Silver"]
        items = await timeline(s, customer_id=customer.id)
        assert any(i.kind == "loyalty" and "+600" in i.title for i in items)


async def test_adjustments_need_a_reason_and_big_ones_an_approval(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        program = await make_program(s, currency="USD", adjust_approval_points=500)
        customer, _ = await make_member(s, program)
    with pytest.raises(ReasonRequired):
        async with db.sessionmaker.begin() as s:
            await loyalty.adjust(s, actor=TEST_ACTOR, customer_id=customer.id, points=50, reason="  ")
    async with db.sessionmaker.begin() as s:
        small = await loyalty.adjust(
            s, actor=TEST_ACTOR, customer_id=customer.id, points=50, reason="Goodwill"
        )
        big = await loyalty.adjust(
            s, actor=TEST_ACTOR, customer_id=customer.id, points=900, reason="Lost card"
        )
    assert small.status == "applied" and small.balance == 50
    assert big.status == "pending_approval" and big.balance == 50
    async with db.read_sessionmaker() as s:
        req = await s.get(LoyaltyAdjustment, big.adjustment_id)
        assert req.status == "pending" and req.points == 900
        start = await s.scalar(
            select(WorkflowStart).where(WorkflowStart.workflow_id == f"loyalty-adjustment-{req.id}")
        )
        assert start is not None and start.workflow_type == "LoyaltyAdjustmentWorkflow"


async def test_expiry_policy_change_reaches_future_awards_only_and_notices_go_30_and_7_days_before(fresh_db):
    db = fresh_db
    now = utcnow()
    async with db.sessionmaker.begin() as s:
        program = await make_program(s, currency="USD", expiry_days=40)
        customer, member = await make_member(s, program)
        _, quiet = await make_member(s, program, consent_email=False)
        await loyalty.adjust(
            s, actor=TEST_ACTOR, customer_id=customer.id, points=70, reason="Old terms", now=now
        )
        await loyalty.adjust(
            s, actor=TEST_ACTOR, customer_id=quiet.customer_id, points=70, reason="Old terms", now=now
        )
        await loyalty.update_program(
            s, actor=TEST_ACTOR, program_id=program.id, data=ProgramUpdate(expiry_days=400)
        )
        await loyalty.adjust(
            s, actor=TEST_ACTOR, customer_id=customer.id, points=30, reason="New terms", now=now
        )
    async with db.read_sessionmaker() as s:
        awards = await ledger.open_awards(s, member.id, now)
        assert sorted((a.expires_at - now).days for a, _ in awards) == [40, 400]
    # 10 days later the 40-day award is 30 days from expiry: one notice, to the consenting member.
    async with db.sessionmaker.begin() as s:
        assert await loyalty.send_expiry_notices(s, now=now + timedelta(days=10) - timedelta(hours=1)) == 1
        assert await loyalty.send_expiry_notices(s, now=now + timedelta(days=10) - timedelta(hours=1)) == 1
    async with db.read_sessionmaker() as s:
        notes = (await s.scalars(select(Notification).where(Notification.kind == "loyalty_expiry"))).all()
        assert [(n.to_customer_id, n.subject) for n in notes] == [
            (customer.id, "70 of your points expire in 30 days")
        ]
    # Day 41: the old award expires (the batch), the new one stays.
    async with db.sessionmaker.begin() as s:
        last, points = await loyalty.expire_batch(s, actor=TEST_ACTOR, now=now + timedelta(days=41))
        assert points == 140 and last is not None
        assert (await loyalty.expire_batch(s, actor=TEST_ACTOR, now=now + timedelta(days=41)))[1] == 0
        assert await ledger.balance(s, member.id) == 30


async def test_merging_customers_folds_their_ledgers_into_one_membership(fresh_db):
    from backroom.customers import service as customers

    db = fresh_db
    async with db.sessionmaker.begin() as s:
        program = await make_program(s, currency="USD")
        keep, kept = await make_member(s, program)
        lose, lost = await make_member(s, program)
        await loyalty.adjust(s, actor=TEST_ACTOR, customer_id=keep.id, points=30, reason="a")
        await loyalty.adjust(s, actor=TEST_ACTOR, customer_id=lose.id, points=45, reason="b")
    async with db.sessionmaker.begin() as s:
        await customers.merge(s, actor=TEST_ACTOR, loser_id=lose.id, survivor_id=keep.id)
    async with db.read_sessionmaker() as s:
        card = await loyalty.card(s, keep.id)
        assert card.balance == 75 and card.member_id == kept.id
        assert await s.get(LoyaltyMember, lost.id) is None
