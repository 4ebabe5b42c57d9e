"""Partial refunds take points back in proportion to the money refunded; partial refunds
followed by a whole one take the award exactly once; what was spent becomes debt, never a
negative balance (SQLite and PostgreSQL, through the real order lifecycle events)."""

from __future__ import annotations

import pytest

from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.orders.models import Order
from tests.helpers import make_member, make_program, make_shop, place_with, set_order_status

pytestmark = pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)


_set = set_order_status


async def _refund(db, order, refunded_minor, status="partially_refunded"):
    """As the order workflow leaves it: money refunded at the gateway, then the status."""
    async with db.sessionmaker.begin() as s:
        row = await s.get(Order, order.id)
        row.captured_minor = 10_000  # the items' 100.00 (shipping left out for round numbers)
        row.refunded_minor = refunded_minor
    await _set(db, order, status, key=f"k-{order.id}-{status}-{refunded_minor}")


async def _state(db, member, customer_id):
    async with db.read_sessionmaker() as s:
        m = await loyalty.member_of(s, customer_id)
        return await ledger.balance(s, member.id), m.debt_points


async def test_partial_refunds_reverse_points_proportionally_and_never_twice(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s, prices=(10_000,), stock=((10, 0),))
        program = await make_program(s, currency="USD", point_value_minor=1, min_redeem_points=10)
        customer, member = await make_member(s, program, branch=a)
    async with db.sessionmaker.begin() as s:
        first = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id)
    await _set(db, first, "delivered")
    assert await _state(db, member, customer.id) == (100, 0)

    # 30.00 of 100.00 refunded: 30 of the 100 points go back.
    await _refund(db, first, 3000)
    await _refund(db, first, 3000)  # the same event again changes nothing
    assert await _state(db, member, customer.id) == (70, 0)

    # The customer spends the 70 points left on another order.
    async with db.sessionmaker.begin() as s:
        second = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id, codes=["POINTS"])
        assert second.discount_minor == 70
    assert await _state(db, member, customer.id) == (0, 0)

    # 60.00 refunded in total: 30 more points are due, all spent: owed, balance stays 0.
    await _refund(db, first, 6000)
    assert await _state(db, member, customer.id) == (0, 30)
    # The rest refunded: the whole award is back in total (30 taken + 70 owed), not more.
    await _refund(db, first, 10_000, status="refunded")
    await _refund(db, first, 10_000, status="refunded")
    assert await _state(db, member, customer.id) == (0, 70)

    # The next points pay the debt first.
    async with db.sessionmaker.begin() as s:
        third = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id)
    await _set(db, third, "delivered")
    assert await _state(db, member, customer.id) == (30, 0)
    async with db.read_sessionmaker() as s:
        card = await loyalty.card(s, customer.id)
        assert card.spend_12m_minor == 10_000  # the refunded order's spend left the 12 months


async def test_a_refund_before_the_points_are_earned_earns_only_the_kept_part(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _, products = await make_shop(s, prices=(10_000,), stock=((10, 0),))
        program = await make_program(s, currency="USD")
        customer, member = await make_member(s, program, branch=a)
    async with db.sessionmaker.begin() as s:
        order = await place_with(s, a, [(products[0].id, 1)], customer_id=customer.id)
    await _refund(db, order, 2500)  # refunded after capture, before delivery: no points yet
    assert await _state(db, member, customer.id) == (0, 0)
    await _set(db, order, "delivered")
    assert await _state(db, member, customer.id) == (75, 0)
    await _refund(db, order, 10_000, status="refunded")
    assert await _state(db, member, customer.id) == (0, 0)
