"""Issue 15 item 12: the shop's order page updates itself: it shows the order's new state
without the shopper reloading it, and stops asking once the order is done."""

from __future__ import annotations

import pytest

from tests.browser.support import chromium, offline_page, serving
from tests.helpers import make_app, make_shop, place, set_order_status

pytestmark = pytest.mark.browser


async def test_the_order_page_follows_the_order(sqlite_db, settings):
    db = sqlite_db
    settings.cookie_secure = False
    async with db.sessionmaker.begin() as s:
        a, _b, (product,) = await make_shop(s, stock=((3, 0),))
    order = await place(db, a, [(product.id, 1)])
    await set_order_status(db, order, "picking")
    async with serving(make_app(db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/status") else None)
        await page.goto(f"{base}/shop/orders/{order.token}")
        assert await page.inner_text("#order-status") == "Being prepared"
        await set_order_status(db, order, "shipped")
        await page.locator("#order-status", has_text="Shipped").wait_for(timeout=15_000)  # no reload by us
        await set_order_status(db, order, "completed")
        await page.locator("#order-status", has_text="Delivered").wait_for(timeout=15_000)
        before = len(asked)
        await page.wait_for_timeout(6_000)  # a done order is not asked about again
        assert len(asked) - before <= 1, asked
