"""Issue 14 item 7: a dispute at the bank puts the loyalty points the order earned on hold (not
spendable, shown on the card), a won dispute releases them, a lost one takes them back like a
refund. Through the real Stripe event handler with signed events (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.carts.errors import CodeRefused
from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.loyalty.errors import NotEnoughPoints
from backroom.orders import service as orders
from backroom.orders import stripe_events
from backroom.orders.models import Order
from backroom.payments.webhooks import parse_event
from tests.api.test_checkout import stripe_signature
from tests.helpers import TEST_ACTOR, make_member, make_program, make_shop, place_with, uniq

pytestmark = pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
SECRET = "whsec_hold"


async def _stripe(db, type_: str, dispute: dict) -> None:
    payload = json.dumps(
        {
            "id": uniq("evt_"),
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "data": {"object": dispute},
        }
    ).encode()
    event = parse_event(payload, stripe_signature(payload, SECRET), SECRET)
    async with db.sessionmaker.begin() as s:
        await stripe_events.apply(s, event=event)


async def _paid_order(db):
    """A member's delivered order of 100.00 that earned 100 points, captured through an intent."""
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s, prices=(10_000,), stock=((10, 0),))
        program = await make_program(s, currency="USD", point_value_minor=1, min_redeem_points=10)
        customer, member = await make_member(s, program, branch=a)
    async with db.sessionmaker.begin() as s:
        order = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id)
        row = await s.get(Order, order.id)
        row.payment_intent_id, row.captured_minor = uniq("pi_"), 10_000
    async with db.sessionmaker.begin() as s:
        await orders.set_status(
            s, actor=TEST_ACTOR, order_id=order.id, status="delivered", message="", key=uniq("k")
        )
    dispute = {
        "id": uniq("dp_"),
        "object": "dispute",
        "amount": 10_000,
        "currency": "usd",
        "charge": uniq("ch_"),
        "payment_intent": row.payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": int(time.time()) + 7 * 86400},
    }
    return a, products, customer, member, order, dispute


async def _card(db, customer):
    async with db.read_sessionmaker() as s:
        return await loyalty.card(s, customer.id)


async def test_points_on_hold_during_a_dispute_and_released_when_won(fresh_db):
    db = fresh_db
    a, products, customer, member, _order, dispute = await _paid_order(db)
    assert (await _card(db, customer)).balance == 100

    await _stripe(db, "charge.dispute.created", dispute)
    await _stripe(db, "charge.dispute.created", {**dispute})  # a second delivery changes nothing
    card = await _card(db, customer)
    assert (card.balance, card.on_hold) == (100, 100)
    async with db.sessionmaker() as s:
        assert await ledger.available(s, member.id, loyalty.utcnow()) == 0
        m = await loyalty.member_of(s, customer.id)
        with pytest.raises(NotEnoughPoints):
            await ledger.take(s, m, points=10, kind="redeem", key=uniq("try"), now=loyalty.utcnow())
    # Checkout refuses to spend them while they are on hold.
    with pytest.raises(CodeRefused, match="you have 0"):
        async with db.sessionmaker.begin() as s:
            await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id, codes=["POINTS"])

    await _stripe(db, "charge.dispute.closed", {**dispute, "status": "won"})
    card = await _card(db, customer)
    assert (card.balance, card.on_hold) == (100, 0)
    async with db.read_sessionmaker() as s:
        assert await ledger.available(s, member.id, loyalty.utcnow()) == 100
        actions = list(
            await s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.in_(("loyalty.hold", "loyalty.release")))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["loyalty.hold", "loyalty.release"]


async def test_a_lost_dispute_takes_the_held_points_back(fresh_db):
    db = fresh_db
    _a, _p, customer, _member, _order, dispute = await _paid_order(db)
    await _stripe(db, "charge.dispute.created", dispute)
    await _stripe(db, "charge.dispute.closed", {**dispute, "status": "lost"})
    card = await _card(db, customer)
    assert (card.balance, card.on_hold, card.debt_points) == (0, 0, 0)
