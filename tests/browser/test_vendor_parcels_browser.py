"""A marketplace vendor ships its own parcel in Chromium (issue 13, step 3): the vendor panel's
order page offers Pick, Pack, Buy label and Ship for its parcel only, and shows the tracking
number once shipped; the warehouse sees the parcel marked as the vendor's to ship."""

from __future__ import annotations

import pytest

from backroom.orders.models import Parcel
from tests.api.test_vendor_parcels_api import _picking, _running
from tests.browser.support import chromium, offline_page, serving, sign_in
from tests.helpers import create_user, token_client

pytestmark = pytest.mark.browser


async def test_a_vendor_picks_packs_labels_and_ships_its_parcel(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    from playwright.async_api import expect

    db, settings = sqlite_db, commerce_settings
    settings.cookie_secure = False  # plain http on loopback
    async with _running(dev_env, db, settings, task_queue) as w:
        order_id, vendor_id = w["order"].id, w["va"].id
        await _picking(await token_client(w["app"], db, w["seller"]), order_id)
        async with db.sessionmaker.begin() as s:
            picker = await create_user(s, grants=[("warehouse", w["order"].branch_id)])
        async with serving(w["app"]) as base, chromium() as browser:
            page = await offline_page(browser)
            await sign_in(page, base, w["seller"].username)
            await page.goto(f"{base}/vendors/{vendor_id}/orders/{order_id}")
            row = page.locator(f"tr[data-parcel='{w['mine']}']")
            for button, status in (
                ("Pick", "Picked"),
                ("Pack", "Packed"),
                ("Buy label", "Labelled"),
                ("Ship", "Shipped"),
            ):
                await row.get_by_role("button", name=button).click()
                await page.wait_for_load_state()
                await expect(page.locator(".flash")).to_contain_text(f"Parcel {w['mine']}")
                await expect(row.locator(".badge")).to_have_text(status)
            assert await row.get_by_role("button").count() == 0  # nothing left to do
            async with db.read_sessionmaker() as s:
                shipped = await s.get(Parcel, w["mine"])
            await expect(row).to_contain_text(shipped.tracking_number)
            assert await page.locator(f"tr[data-parcel='{w['theirs']}']").count() == 0

            staff = await offline_page(browser)
            await sign_in(staff, base, picker.username)
            await staff.goto(f"{base}/warehouse")
            theirs = staff.locator(f"tr[data-parcel='{w['theirs']}']")
            await expect(theirs).to_contain_text(f"Ships: {w['vb'].name}")
            await expect(theirs.get_by_role("button", name="Pick")).to_be_visible()  # on its behalf
