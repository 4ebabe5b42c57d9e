"""Browser: on the demo data, a manager opens the dashboard (which refreshes itself), drills
into a branch, opens an alert, acknowledges it and opens the record behind it."""

from __future__ import annotations

import asyncio
import re

import pytest
import uvicorn
from playwright.async_api import async_playwright

from backroom.seed import DEMO_PASSWORD, seed_demo
from tests.browser.support import ARGS, CHROMIUM
from tests.helpers import free_port, make_app


@pytest.mark.browser
async def test_manager_dashboard_drill_alert_acknowledge_record(fresh_db, settings):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        await seed_demo(s)
    settings.cookie_secure = False
    app = make_app(db, settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await (await browser.new_context()).new_page()
            await page.goto(f"{base}/login")
            await page.fill("input[name=username]", "manager")
            await page.fill("input[name=password]", DEMO_PASSWORD)
            await page.click("main form button[type=submit]")
            await page.wait_for_url(f"{base}/")

            await page.goto(f"{base}/dashboard?refresh=5")
            await page.wait_for_url(re.compile(r"/dashboard/commerce"))
            assert "Orders placed" in await page.inner_text("#kpi-cards")
            assert "Main Street" in await page.inner_text("#generated")
            # The widgets refresh in place (no navigation): the script marks the swap.
            await page.wait_for_selector("#widgets[data-refreshed]", timeout=15_000)
            assert re.search(r"/dashboard/commerce", page.url)

            # Drill into one branch: the filter lands in the URL and every widget follows it.
            await page.select_option("#drill select[name=branch]", label="Harbor Mall")
            await page.click("#drill button[type=submit]")
            await page.wait_for_url(re.compile(r"branch=\d+"))
            assert "1 branch: Harbor Mall" in await page.inner_text("#generated")
            await page.select_option("#drill select[name=branch]", label="Main Street")
            await page.click("#drill button[type=submit]")
            await page.wait_for_url(re.compile(r"branch=\d+"))
            alerts = await page.inner_text("#alerts")
            assert "stuck in 3-D Secure" in alerts and "Harbor Mall" not in alerts

            await page.click("#alerts a:has-text('stuck in 3-D Secure')")
            await page.wait_for_url(re.compile(r"/alerts/\d+$"))
            assert await page.inner_text("#alert-status") == "Open"
            await page.click("#acknowledge")
            await page.wait_for_url(re.compile(r"/alerts/\d+\?flash="))
            assert await page.inner_text("#alert-status") == "Acknowledged"
            assert "Demo Manager" in await page.inner_text("#alert-detail")

            await page.click("#alert-record")
            await page.wait_for_url(re.compile(r"/orders/\d+$"))
            assert "awaiting" in (await page.content()).lower()
            await browser.close()
    finally:
        server.should_exit = True
        await serving
