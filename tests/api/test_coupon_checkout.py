"""A coupon through the whole order life, on the Temporal dev server with localstripe: a code
entered in the cart (API) is reserved with the order, confirmed when the order workflow
captures the payment, and released by its compensation when the payment fails."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backroom.promotions import service as promotions
from backroom.promotions.models import Redemption
from tests.api.test_checkout import BODY, running, wait_for
from tests.helpers import create_user, make_promotion, make_shop, open_cart, token_client, uniq


async def _redemption(db, order_id: int, status: str) -> Redemption:
    for _ in range(200):
        async with db.read_sessionmaker() as s:
            r = await s.scalar(select(Redemption).where(Redemption.order_id == order_id))
        if r is not None and r.status == status:
            return r
        await asyncio.sleep(0.05)
    raise AssertionError(f"redemption of order {order_id} is {r and r.status}, wanted {status}")


async def test_code_reserved_confirmed_at_capture_released_on_failed_payment(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    db, settings = sqlite_db, commerce_settings
    settings.order_auto_fulfil = True
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((10, 0),), prices=(3000,))
        clerk = await create_user(s, grants=[("clerk", a.id)])
        promo = await make_promotion(s, a, kind="fixed", amount_minor=500, usage_limit=5)
        code = await promotions.shared_code(s, promo.id)
    async with running(dev_env, db, settings, task_queue) as app:
        c = await token_client(app, db, clerk)
        orders = {}
        for card in ("pm_card_visa", "pm_card_chargeCustomerFail"):
            cart = await open_cart(c, db, a)
            await c.post(f"/api/v1/carts/{cart['id']}/items", json={"product_id": p1.id, "qty": 1})
            r = await c.post(f"/api/v1/carts/{cart['id']}/codes", json={"code": code.lower()})
            assert r.status_code == 200 and r.json()["totals"]["discount_minor"] == 500, r.text
            r = await c.post(
                f"/api/v1/carts/{cart['id']}/checkout",
                json={**BODY, "payment_method": card},
                headers={"Idempotency-Key": uniq("key-")},
            )
            assert r.status_code == 201 and r.json()["discount_minor"] == 500, r.text
            orders[card] = r.json()["id"]
        await wait_for(c, f"/api/v1/orders/{orders['pm_card_visa']}", "shipped")  # captured
        await wait_for(c, f"/api/v1/orders/{orders['pm_card_chargeCustomerFail']}", "payment_failed")
        await _redemption(db, orders["pm_card_visa"], "confirmed")
        await _redemption(db, orders["pm_card_chargeCustomerFail"], "released")
    async with db.read_sessionmaker() as s:
        promo = await promotions.get_promotion(s, promo.id)
        assert (promo.uses_count, promo.confirmed_count, promo.spent_minor) == (1, 1, 500)
