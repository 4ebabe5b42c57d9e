"""Browser (issue 15 items 8, 9 and 10): what a shop worker reads in staff forms, how they find
customers, and that pages offer only what the worker can do."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from backroom.credit import ledger
from tests.browser.support import chromium, offline_page, serving, sign_in
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    create_branch,
    create_customer,
    create_user,
    make_app,
    pending_approval,
    staff,
    uniq,
)

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
        await boss.fill("input[name=price]", "25.00")
        await boss.fill("input[name=tax_rate]", "8.25")
        await boss.get_by_role("button", name="Create").click()
        await boss.wait_for_url(re.compile(r"/catalog/\d+"))
        assert sku in await boss.locator("main").inner_text()
        # Money and the rate read back as typed, never in minor units or basis points.
        assert await boss.input_value("input[name=price]") == "25.00"
        assert await boss.input_value("input[name=tax_rate]") == "8.25"
        assert "minor" not in (await boss.locator("main").inner_text()).lower()
        await boss.fill("input[name=price]", "12.345")
        await boss.get_by_role("button", name="Save", exact=True).click()
        assert "Enter an amount in USD such as 12.50" in await boss.locator("main").inner_text()


async def test_pages_offer_only_what_the_worker_can_do(sqlite_db, settings):
    """Item 10: a completed order shows no "Cancel order" (a placed one does), and the cancel
    is refused by the same rule when sent anyway; finance sees no Approve on their own request
    (a colleague does); the new-customer form offers only the manager's own branch."""
    settings.cookie_secure = False
    async with sqlite_db.sessionmaker.begin() as s:
        north, south = (
            await create_branch(s, name=f"North {uniq()}"),
            await create_branch(s, name=f"South {uniq()}"),
        )
        manager = await create_user(s, grants=[("manager", north.id), ("auditor", south.id)])
        fay = await create_user(s, grants=[("finance", north.id)], full_name=f"Fay {uniq()}")
        gus = await create_user(s, grants=[("finance", north.id)], full_name=f"Gus {uniq()}")
        cust = await create_customer(s, branch=north)
        done = await add_order(s, cust, total_minor=5000, placed_at=datetime.now(UTC), status="completed")
        fresh = await add_order(s, cust, total_minor=5000, placed_at=datetime.now(UTC), status="placed")
        req = await pending_approval(s, north.id)
        req.requested_by_id, req.requested_by_name, req.title = fay.id, fay.full_name, "Raise the limit"
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        await sign_in(page, base, manager.username)
        await page.goto(f"{base}/orders/{fresh.id}")
        assert await page.get_by_role("button", name="Cancel order").count() == 1
        await page.goto(f"{base}/orders/{done.id}")
        assert await page.get_by_role("button", name="Cancel order").count() == 0
        token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
        sent = await page.request.post(
            f"{base}/orders/{done.id}/cancel", form={"csrf_token": token, "reason": "changed mind"}
        )
        assert sent.status == 409 and "no longer be cancelled" in await sent.text()
        await page.goto(f"{base}/customers")
        picker = await page.locator("select[name=home_branch_id]").inner_text()
        assert north.name in picker and south.name not in picker

        own = await offline_page(browser)
        await sign_in(own, base, fay.username)
        await own.goto(f"{base}/inbox")
        assert await own.locator(f"#approval-{req.id}").count() == 0
        assert "Raise the limit" in await own.locator("main").inner_text()  # under Your requests
        colleague = await offline_page(browser)
        await sign_in(colleague, base, gus.username)
        await colleague.goto(f"{base}/inbox")
        row = colleague.locator(f"#approval-{req.id}")
        assert await row.get_by_role("button", name="Approve").count() == 1


async def test_the_customer_picker_finds_by_phone_and_name_and_degrades_to_a_plain_input(sqlite_db, settings):
    """Item 9: the agent logs a complaint by typing the customer's phone as the customer said
    it, picks them from the list (their orders then show), and finds them by "last first";
    without JavaScript the same field takes the customer number."""
    settings.cookie_secure = False
    last = uniq("Quill")
    people = await staff(sqlite_db, roles=("agent",))
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], name=f"Nora {last}", phone="+1 212 555 0102")
        order = await add_order(s, cust, total_minor=4200, placed_at=datetime.now(UTC))
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        await sign_in(page, base, people["agent"].username)
        await page.goto(f"{base}/complaints/new")
        box = page.get_by_role("combobox", name="Customer")
        await box.fill("(212) 555-0102")
        await page.get_by_role("option", name=re.compile(f"Nora {last}")).wait_for()
        await box.press("ArrowDown")
        await box.press("Enter")
        await page.wait_for_url(re.compile(rf"customer_id={cust.id}"))
        assert await page.locator("select[name=order_id]").inner_text() != ""
        await page.select_option("select[name=order_id]", str(order.id))
        await page.fill("input[name=category]", "late")
        await page.fill("textarea[name=description]", "The parcel never came.")
        await page.click("main form button[type=submit]")
        await page.wait_for_url(re.compile(r"/complaints/\d+"))
        assert f"Nora {last}" in await page.locator("main").inner_text()

        await page.goto(f"{base}/complaints")
        await page.get_by_role("combobox", name="Customer").fill(f"{last} nora")
        await page.get_by_role("option", name=re.compile(f"Nora {last}")).click()
        await page.get_by_role("button", name="Filter").click()
        await page.wait_for_url(re.compile(rf"customer={cust.id}"))
        assert await page.locator("#complaint-queue tbody tr").count() == 1

        plain = await browser.new_context(java_script_enabled=False)
        tab = await plain.new_page()
        await sign_in(tab, base, people["agent"].username)
        await tab.goto(f"{base}/complaints/new")
        await tab.fill("input[name=customer_id]", str(cust.id))
        await tab.fill("input[name=category]", "damaged")
        await tab.fill("textarea[name=description]", "Dented box.")
        await tab.click("main form button[type=submit]")
        await tab.wait_for_url(re.compile(r"/complaints/\d+"))
        await plain.close()
