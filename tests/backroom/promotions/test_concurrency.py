"""Exact limits under concurrency on PostgreSQL: 50 checkouts at once against a promotion with
10 uses left get exactly 10 discounts and 40 clear refusals; the refused customers continue
without the code; no deadlock, no use over the limit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from backroom.carts.errors import CodeRefused
from backroom.orders.models import Order
from backroom.promotions import service as promotions
from backroom.promotions.errors import PromotionUsedUp
from backroom.promotions.models import Redemption
from tests.helpers import make_promotion, make_shop, place_with


@pytest.mark.parametrize("fresh_db", ["postgres"], indirect=True)
async def test_fifty_checkouts_ten_uses_left(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((500, 0),), prices=(2500,))
        promo = await make_promotion(s, a, kind="fixed", amount_minor=500, usage_limit=12)
        code = await promotions.shared_code(s, promo.id)
    for _ in range(2):  # two uses gone before the rush
        async with db.sessionmaker.begin() as s:
            await place_with(s, a, [(p1.id, 1)], codes=[code])

    async def checkout(n: int) -> tuple[str, int, str | None]:
        try:
            async with db.sessionmaker.begin() as s:
                order = await place_with(s, a, [(p1.id, 1)], codes=[code], email=f"rush{n}@example.com")
                return "discounted", order.discount_minor, None
        except (CodeRefused, PromotionUsedUp) as exc:
            reason = exc.detail
        # The customer chooses to continue without the code.
        async with db.sessionmaker.begin() as s:
            order = await place_with(s, a, [(p1.id, 1)], email=f"rush{n}@example.com")
            return "refused", order.discount_minor, reason

    results = await asyncio.gather(*(checkout(n) for n in range(50)))
    got = [r for r in results if r[0] == "discounted"]
    refused = [r for r in results if r[0] == "refused"]
    assert len(got) == 10 and all(d == 500 for _, d, _ in got)
    assert len(refused) == 40 and all(d == 0 for _, d, _ in refused)
    assert all("used up" in why for _, _, why in refused)
    async with db.read_sessionmaker() as s:
        promo = await promotions.get_promotion(s, promo.id)
        assert (promo.uses_count, promo.spent_minor) == (12, 12 * 500)
        assert (
            await s.scalar(
                select(func.count()).select_from(Redemption).where(Redemption.promotion_id == promo.id)
            )
            == 12
        )
        assert await s.scalar(select(func.count()).select_from(Order).where(Order.email.like("rush%"))) == 50
