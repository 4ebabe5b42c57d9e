"""Issue 15 item 12: a payment that fails for good (the card was never completed before the
deadline) keeps the cart and the address: the order page offers "Try again with another card",
which puts the items back into the visitor's cart (once, however often it is pressed) with the
checkout form filled in as before, and the next order goes through with another card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backroom.catalog.models import StockLevel
from tests.api.test_checkout import running
from tests.browser.support import (
    add_to_cart,
    badge_says,
    check_out,
    chromium,
    enter_card,
    offline_page,
    serving,
)
from tests.helpers import make_promotion, make_shop, uniq

pytestmark = pytest.mark.browser


async def test_failed_payment_goes_back_to_the_cart(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    settings.cookie_secure = False  # plain http on loopback
    settings.payment_auth_timeout_minutes = 0.05  # 3 s to enter a card, then the payment fails
    async with db.sessionmaker.begin() as s:
        a, _b, (product,) = await make_shop(s, stock=((3, 0),), prices=(2500,))
        code = uniq("AGAIN").upper()
        await make_promotion(s, a, code=code)  # 10 % off
    async with running(dev_env, db, settings, task_queue) as app, serving(app) as base, chromium() as browser:
        page = await offline_page(browser)
        await add_to_cart(page, base, product)
        await page.fill("input[name=code]", code)
        await page.get_by_role("button", name="Apply").click()
        await page.wait_for_url("**/shop/cart**")
        await check_out(page, base, product, name="Tess Tryagain", add=False)
        await badge_says(page, "Payment failed")
        failed_url = page.url.split("?")[0]
        assert "nothing was charged" in await page.locator("#customer-message").inner_text()
        async with db.sessionmaker() as s:  # the workflow gave the stock back
            level = await s.scalar(
                select(StockLevel).where(StockLevel.product_id == product.id, StockLevel.branch_id == a.id)
            )
            assert (level.on_hand, level.reserved) == (3, 0)

        await page.get_by_role("button", name="Try again with another card").click()
        await page.wait_for_url("**/shop/cart**")
        assert "Your items are back in your cart" in await page.content()
        assert await page.locator("input[name=qty]").input_value() == "1"
        assert await page.locator(".codes .badge").all_inner_texts() == [code]  # the code is back
        assert await page.input_value("input[name=ship_name]") == "Tess Tryagain"
        assert await page.input_value("input[name=email]") == "card@example.com"
        assert await page.input_value("input[name=ship_postcode]") == "10101"

        # Pressed again (the back button, the same page): the cart still holds one.
        await page.goto(failed_url)
        await page.get_by_role("button", name="Try again with another card").click()
        await page.wait_for_url("**/shop/cart**")
        assert await page.locator("input[name=qty]").input_value() == "1"

        # The address is there: place the order again and pay with a card that works.
        await page.get_by_role("button", name="Place order").click()
        await page.wait_for_url("**/shop/orders/**")
        assert page.url.split("?")[0] != failed_url
        await enter_card(page, "4242 4242 4242 4242")
        await page.wait_for_url("**flash=**")
        await badge_says(page, "Being prepared")
        assert await page.get_by_role("button", name="Try again with another card").count() == 0

        # A paid order cannot be put back into a cart.
        token = page.url.split("/shop/orders/")[1].split("?")[0]
        sid = next(c["value"] for c in await page.context.cookies() if c["name"] == "shop_sid")
        answer = await page.request.post(
            f"{base}/shop/orders/{token}/again", form={"csrf_token": sid}, max_redirects=0
        )
        assert answer.status == 303
        assert "failed+can+be+tried+again" in answer.headers["location"].replace("%20", "+")
