"""Browser (issue 15 items 8, 9 and 10): what a shop worker reads in staff forms, how they find
customers, and that pages offer only what the worker can do."""

from __future__ import annotations

import re

import pytest

from backroom.credit import ledger
from tests.browser.support import chromium, offline_page, serving, sign_in
from tests.helpers import TEST_ACTOR, create_customer, create_user, make_app, staff, uniq

pytestmark = pytest.mark.browser
MACHINE_WORDS = re.compile(r"Input should|Field required|validation error|Something went wrong")


async def test_forms_speak_in_words_and_take_blank_optional_fields(sqlite_db, settings):
    """Item 8: a blank name says "Enter a name"; a limit of 99999999999999999999 says it is too
    large (it was a 500); a product with tax, weight, sizes and warranty left blank is created."""
    settings.cookie_secure = False
    people = await staff(sqlite_db, roles=("clerk",))
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        admin = await create_user(s, grants=[("admin", None)])
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        await sign_in(page, base, people["clerk"].username)
        await page.goto(f"{base}/customers")
        await page.fill("input[name=name]", "   ")  # passes the browser's `required`, not ours
        await page.click("form:has(input[name=name]) button[type=submit]")
        assert "Enter a name" in await page.locator("label.invalid").first.inner_text()
        await page.goto(f"{base}/customers/{cust.id}")
        await page.fill("input[name=requested_limit]", "99999999999999999999")
        await page.fill("textarea[name=reason]", "Opening a large account")
        await page.get_by_role("button", name="Send for approval").click()
        await page.wait_for_load_state()
        main = await page.locator("main").inner_text()
        assert "Credit limit is too large" in main and not MACHINE_WORDS.search(main)

        boss = await offline_page(browser)
        await sign_in(boss, base, admin.username)
        await boss.goto(f"{base}/catalog/new")
        sku = uniq("LAMP-")
        await boss.fill("input[name=sku]", sku)
        await boss.fill("input[name=name]", "Desk lamp")
        await boss.fill("input[name=category]", "lamps")
        await boss.fill("input[name=price_minor]", "2500")
        await boss.get_by_role("button", name="Create").click()
        await boss.wait_for_url(re.compile(r"/catalog/\d+"))
        assert sku in await boss.locator("main").inner_text()
