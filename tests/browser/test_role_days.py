"""Issue 15, "done means": each demo role's main day in Chromium on the demo data, as a person
sees it (the five the issue names, and the supervisor, auditor, vendor and admin too). Each role signs in and walks its pages (every menu entry, then the first record of
each list and the links on those pages, breadth first), and the clerk works a shift (opens it
with a float typed as money, pays cash in, closes it, reads the shift report). On every page:
no raw identifier (snake_case codes, "branch 3", "account #7"), no minor-unit field or wording,
no time without its zone and none in UTC only, no server error."""

from __future__ import annotations

import re

import pytest

from backroom.seed import DEMO_PASSWORD, seed_demo
from tests.browser.support import chromium, offline_page, serving, sign_in
from tests.helpers import make_app

pytestmark = pytest.mark.browser

ROLES = ("clerk", "agent", "warehouse", "finance", "manager", "supervisor", "auditor", "vendor", "admin")
PAGES = 45  # per role: the menu, each list's first record, and what those link to
LEAVE = re.compile(r"logout|\.(csv|pdf|xlsx)\b|/api/|export|format=|/static/|/label|download|/shop|/account/")
CHECKS = {
    "a code where words belong": re.compile(r"(?<![\w@./:-])[a-z]+(?:_[a-z0-9]+)+\b(?![\w@./-])"),
    "minor units": re.compile(r"\bminor units?\b|\bin cents\b|\bbasis points\b", re.I),
    "a time without its zone": re.compile(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?!:|\.| ?[A-Z]{2,5}\b| ?[+-]\d)"
    ),
    "a time in UTC only": re.compile(r"\d\d:\d\d(?::\d\d)? UTC\b|\+00:00"),
    "an id where a name belongs": re.compile(r"\b(?:branch|user|vendor)\s+#?\d+\b|\baccount #\d+", re.I),
}


def _shape(url: str) -> str:
    """Pages of one kind (an order, a report's drilldown) are walked once each."""
    path, _, query = url.partition("?")
    keys = sorted(k.split("=")[0] for k in query.split("&") if k)
    return re.sub(r"\d+", "N", path) + "?" + "&".join(keys)


async def _walk(page, base: str, role: str) -> tuple[int, list[str]]:
    todo, seen, shapes, found, walked = ["/"], set(), set(), [], 0
    while todo and walked < PAGES:
        url = todo.pop(0)
        if url in seen or LEAVE.search(url) or _shape(url) in shapes:
            continue
        seen.add(url)
        shapes.add(_shape(url))
        answer = await page.goto(base + url)
        walked += 1
        if answer.status >= 500:
            found.append(f"{role} {url}: HTTP {answer.status}")
            continue
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        text = " ".join((await page.inner_text("body")).split())  # what is rendered (closed details are not)
        for what, rule in CHECKS.items():
            for hit in sorted({m.group(0) for m in rule.finditer(text)}):
                at = text.find(hit)
                found.append(f"{role} {url}: {what}: {hit!r} in …{text[max(0, at - 40) : at + 40]}…")
        fields = page.locator(
            "input[name$='_minor']:not([type=hidden]), input[name$='_bp']:not([type=hidden])"
        )
        if await fields.count():
            found.append(f"{role} {url}: a minor-unit field: {await fields.first.get_attribute('name')}")
        for href in await page.eval_on_selector_all(
            "header nav a, main a", "els => els.map(a => a.getAttribute('href'))"
        ):
            if href and href.startswith("/") and not href.startswith("//"):
                todo.append(href.split("#")[0])
    return walked, found


async def _clerk_shift(page, base: str) -> None:
    await page.goto(f"{base}/shifts")
    await page.fill("input[name=opening_float]", "100.00")
    await page.get_by_role("button", name="Open shift").click()
    await page.fill("input[name=amount]", "25.50")
    await page.fill("input[name=reason]", "Change from the safe")
    await page.get_by_role("button", name="Record").click()
    await page.fill("input[name=closing_count]", "125.00")
    await page.get_by_role("button", name="Close shift").click()
    await page.wait_for_url(re.compile(r"/shifts/\d+/report"))  # closing shows the shift report
    report = " ".join((await page.inner_text("main")).split())
    assert "short by 0.50 USD" in report and "Pay-in Change from the safe 25.50 USD" in report, report
    assert re.search(r"EXPECTED CASH 125.50 USD COUNTED CASH 125.00 USD SHORT 0.50 USD", report, re.I), report


async def test_each_role_walks_its_day_without_ids_minor_units_or_utc(fresh_db, settings):
    async with fresh_db.sessionmaker.begin() as s:
        await seed_demo(s)
    settings.cookie_secure = False
    app = make_app(fresh_db, settings)
    found, walked = [], {}
    async with serving(app) as base, chromium() as browser:
        for role in ROLES:
            page = await offline_page(browser)
            await sign_in(page, base, role, DEMO_PASSWORD)
            if role == "clerk":
                await _clerk_shift(page, base)
            walked[role], seen = await _walk(page, base, role)
            found += seen
            await page.context.close()
    assert all(n >= 15 for n in walked.values()), walked  # each walked a real day, not a login page
    assert not found, "\n".join(found)
