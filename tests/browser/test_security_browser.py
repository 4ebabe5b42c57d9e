"""Browser (issue 15 items 3, 4, 5 and 14): after signing out, Back shows no customer; the API
documentation works with no internet; an admin sees roles per branch and a deactivated user is
signed out at once; a complaint form sent again after Back shows the first complaint."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backroom.complaints.models import Complaint
from tests.browser.support import chromium, offline_page, serving, sign_in
from tests.helpers import PASSWORD, create_branch, create_customer, create_user, make_app, staff, uniq

pytestmark = pytest.mark.browser


async def test_back_button_after_sign_out_shows_no_customer(sqlite_db, settings):
    settings.cookie_secure = False  # plain http on loopback
    people = await staff(sqlite_db, roles=("manager",))
    name = f"Private Person {uniq()}"
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], name=name)
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        await sign_in(page, base, people["manager"].username)
        await page.goto(f"{base}/customers/{cust.id}")
        assert name in await page.content()
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{base}/login")
        await page.go_back()
        await page.wait_for_load_state()
        assert name not in await page.content()
        assert "/login" in page.url  # asked the server again, which wants a sign-in


async def test_api_docs_and_redoc_work_offline(sqlite_db, settings):
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        page.set_default_timeout(60000)  # 1.5 MB of script and ~130 operations to draw
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        await page.goto(f"{base}/api/docs")
        # Swagger UI drew the operations (a page whose scripts came from a CDN stays blank here).
        await page.locator(".opblock").nth(50).wait_for(state="attached")
        assert "Backroom" in await page.locator(".info .title").inner_text()
        await page.goto(f"{base}/api/redoc")
        await page.get_by_role("heading", name="Backroom").first.wait_for()
        await page.get_by_text("/api/v1/customers/export.csv").first.wait_for(state="attached")
        # The policy may block outside requests (Redoc's logo link); never our own scripts or styles.
        assert [m for m in blocked if "script-src" in m or "style-src" in m] == []


async def test_admin_sees_roles_per_branch_and_deactivation_signs_the_user_out(sqlite_db, settings):
    """Item 3: the Users list names each user's roles per branch; deactivating a user ends
    their open session at once (their next click lands on the sign-in page, which refuses them)."""
    settings.cookie_secure = False
    async with sqlite_db.sessionmaker.begin() as s:
        north, south = await create_branch(s), await create_branch(s)
        admin = await create_user(s, grants=[("admin", None)], full_name=f"Ada Admin {uniq()}")
        clerk = await create_user(
            s, grants=[("clerk", north.id), ("agent", south.id)], full_name=f"Cleo Clerk {uniq()}"
        )
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        boss, till = await offline_page(browser), await offline_page(browser)
        await sign_in(till, base, clerk.username)
        await sign_in(boss, base, admin.username)
        await boss.goto(f"{base}/admin/users?q={clerk.username}")
        row = boss.locator("tr", has_text=clerk.username)
        roles = await row.locator("td.roles").inner_text()
        assert f"clerk in {north.name}" in roles and f"agent in {south.name}" in roles
        await row.get_by_role("link", name=clerk.username).click()
        await boss.get_by_role("button", name="Deactivate").click()
        assert "deactivated" in await boss.locator("#user-status").inner_text()
        await till.goto(f"{base}/")
        assert till.url.startswith(f"{base}/login")
        await till.fill("input[name=username]", clerk.username)
        await till.fill("input[name=password]", PASSWORD)
        await till.click("main form button[type=submit]")
        assert "Wrong user name or password" in await till.locator("main").inner_text()


async def test_sending_a_complaint_form_again_shows_the_first_complaint(sqlite_db, settings):
    """Item 5: the agent logs a complaint, presses Back and sends the same form again: Backroom
    shows the complaint already logged, and the customer has one complaint, not two."""
    settings.cookie_secure = False
    people = await staff(sqlite_db, roles=("agent",))
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    async with serving(make_app(sqlite_db, settings)) as base, chromium() as browser:
        page = await offline_page(browser)
        await sign_in(page, base, people["agent"].username)
        await page.goto(f"{base}/complaints/new?customer_id={cust.id}")
        await page.fill("input[name=category]", "damaged")
        await page.fill("textarea[name=description]", "The blender jar arrived cracked.")
        await page.click("main form button[type=submit]")
        await page.wait_for_url(re.compile(r"/complaints/\d+"))
        first = page.url.split("?")[0]
        await page.go_back()  # the form, as typed (the browser keeps the fields)
        await page.fill("input[name=category]", "damaged")
        await page.fill("textarea[name=description]", "The blender jar arrived cracked.")
        await page.click("main form button[type=submit]")
        await page.wait_for_url(re.compile(r"/complaints/\d+"))
        assert page.url.split("?")[0] == first
    async with sqlite_db.read_sessionmaker() as s:
        n = await s.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.customer_id == cust.id)
        )
    assert n == 1
