"""A customer buys on the storefront in Chromium; the warehouse picks, packs, labels and ships it
in the staff UI and sees it delivered. App on uvicorn (free port), worker on the dev server."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn

from tests.api.test_checkout import running
from tests.browser.support import ARGS, check_out, enter_card
from tests.helpers import PASSWORD, create_user, free_port, make_shop

pytestmark = pytest.mark.browser


async def test_buy_then_ship_in_the_browser(dev_env, sqlite_db, commerce_settings, task_queue):
    from playwright.async_api import async_playwright, expect

    db, settings = sqlite_db, commerce_settings
    settings.cookie_secure = False  # plain http on loopback
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((3, 0),), prices=(3500,))
        wh = await create_user(s, grants=[("warehouse", a.id)])
    async with running(dev_env, db, settings, task_queue) as app:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = await browser.new_page()
                page.set_default_timeout(15000)
                await check_out(page, base, p1, name="Bea Browser")
                await enter_card(page)
                await page.wait_for_url("**flash=**")
                for _ in range(100):
                    if "Being prepared" in await page.locator("#order-status").inner_text():
                        break
                    await asyncio.sleep(0.1)
                    await page.reload()
                await expect(page.locator("#order-status")).to_have_text("Being prepared")

                staff = await (await browser.new_context()).new_page()
                staff.set_default_timeout(15000)
                await staff.goto(f"{base}/login?next=/warehouse")
                await staff.fill("input[name=username]", wh.username)
                await staff.fill("input[name=password]", PASSWORD)
                await staff.get_by_role("button", name="Sign in").click()
                await staff.wait_for_url("**/warehouse")
                row = staff.locator("tr", has_text="Bea Browser")
                staff_order = await row.get_by_role("link").first.get_attribute("href")
                for button in ("Pick", "Pack", "Buy label", "Ship", "Mark delivered"):
                    await row.get_by_role("button", name=button).click()
                    await staff.wait_for_load_state()
                    await expect(staff.locator(".flash")).to_contain_text("done")
                for _ in range(100):
                    await staff.goto(f"{base}{staff_order}")
                    if await staff.locator("#order-status").inner_text() == "Completed":
                        break
                    await asyncio.sleep(0.1)
                await expect(staff.locator("#order-status")).to_have_text("Completed")
                await expect(staff.locator("table.timeline")).to_contain_text("Parcel delivered")
                for _ in range(100):
                    await page.reload()
                    if "Delivered" in await page.locator("#order-status").inner_text():
                        break
                    await asyncio.sleep(0.1)
                await expect(page.locator("#order-status")).to_have_text("Delivered")
                await browser.close()
        finally:
            server.should_exit = True
            await serving
