"""Discount sources: a second source (as loyalty points will be) stacks after coupons through
the same price(), taking off what is left; an exclusive coupon does not combine with it."""

from __future__ import annotations

import pytest

from backroom.carts import discounts
from backroom.carts.discounts import Basket, Offer
from backroom.carts.pricing import DiscountLine
from backroom.orders import service as orders
from backroom.promotions import service as promotions
from tests.helpers import make_promotion, make_shop


@pytest.fixture
def points_source():
    """A stand-in second source registered like a domain's hooks.py would: 3.00 off for one
    customer, after coupons (order 50)."""
    seen: list[list[DiscountLine]] = []

    async def points(session, basket: Basket, earlier: list[DiscountLine]) -> Offer:
        seen.append(earlier)
        if basket.customer_id != 424242:
            return Offer()
        return Offer(lines=[DiscountLine(code="POINTS", source="loyalty", label="Points", amount_minor=300)])

    discounts.discount_source("test-points", order=50)(points)
    yield seen
    discounts._SOURCES[:] = [s for s in discounts._SOURCES if s[1] != "test-points"]


async def test_second_source_stacks_after_coupons(db, points_source):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((5, 0),), prices=(2000,))
        promo = await make_promotion(s, a, percent_bp=1000)
        code = await promotions.shared_code(s, promo.id)
        basket = Basket(branch_id=a.id, currency="USD", lines=[], codes=(code,), customer_id=424242)
        totals, _ = await orders.price_items(s, [(p1.id, 2)], currency="USD", basket=basket)
    assert [(d.source, d.amount_minor) for d in totals.discounts] == [("coupon", 400), ("loyalty", 300)]
    assert totals.discount_minor == 700 and totals.subtotal_minor - totals.discount_minor == 3300
    assert [d.code for d in points_source[-1]] == [code]  # the later source sees what coupons took
