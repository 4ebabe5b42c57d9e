"""Storefront and staff pages over HTTP: buy as a guest, then pick, pack, label, ship, deliver."""

from __future__ import annotations

import asyncio
import re

from fastapi.routing import APIRoute

from tests.api.test_checkout import running
from tests.helpers import browser_client, client_for, create_user, make_app, make_shop, pay_in_browser


async def buy(shop, product_id, **extra):
    """As a guest: add to cart and check out; returns the order page's path."""
    page = await shop.get("/shop")
    assert page.status_code == 200
    sid = shop.cookies.get("shop_sid")
    r = await shop.post("/shop/cart/add", data={"csrf_token": sid, "product_id": product_id, "qty": 1})
    assert r.status_code == 303, r.text
    cart = await shop.get("/shop/cart")
    key = re.search(r'name="checkout_key" value="([^"]+)"', cart.text).group(1)
    form = {
        "csrf_token": sid,
        "checkout_key": key,
        "email": "guest@example.com",
        "ship_name": "Gus Guest",
        "ship_line1": "1 Road",
        "ship_city": "Town",
        "ship_postcode": "99999",
        "ship_country": "US",
        **extra,
    }
    r = await shop.post("/shop/checkout", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/shop/orders/"), r.text
    again = await shop.post("/shop/checkout", data=form)  # a double submit finds the same order
    assert again.headers["location"] == r.headers["location"]
    return r.headers["location"]


async def wait_text(client, url, text, tries=200):
    for _ in range(tries):
        page = await client.get(url)
        if text in page.text:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared on {url}")


async def test_guest_buys_and_warehouse_ships(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((2, 0),), prices=(4200,))
        wh = await create_user(s, grants=[("warehouse", a.id)])
    async with running(dev_env, db, settings, task_queue) as app:
        shop = client_for(app)
        assert (await shop.post("/shop/cart/add", data={"product_id": p1.id})).status_code == 403  # no CSRF
        bad = await shop.post("/shop/checkout", data={"csrf_token": "x"})
        assert bad.status_code == 403
        status_url = await buy(shop, p1.id)
        assert (await pay_in_browser(shop, status_url, settings)).status_code == 200
        await wait_text(shop, status_url, "Being prepared")
        staff = await browser_client(app, wh.username)
        queue = await staff.get("/warehouse")
        oid = int(re.search(r'data-order="(\d+)" data-parcel="(\d+)"', queue.text).group(1))
        pid = int(re.search(rf'data-order="{oid}" data-parcel="(\d+)"', queue.text).group(1))
        # Issue 15 item 11: what goes in the parcel, the branch by name, a pick list, slips.
        assert f"1 × {p1.name}" in queue.text and a.name in queue.text
        picks = await staff.get("/warehouse/pick-list")
        assert f"Order #{oid} · parcel {pid} · from {a.name}" in picks.text and p1.sku in picks.text
        assert (await staff.get("/warehouse/pick-list.pdf")).content.startswith(b"%PDF")
        slip = await staff.get(f"/warehouse/orders/{oid}/parcels/{pid}/packing-slip.pdf")
        assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
        assert (
            await staff.get(f"/warehouse/orders/{oid + 1000}/parcels/{pid}/packing-slip.pdf")
        ).status_code == 404
        for step in ("pick", "pack", "label", "ship"):
            r = await staff.post(
                f"/warehouse/orders/{oid}/parcels/{pid}/{step}", data={"csrf_token": staff.csrf}
            )
            assert r.status_code == 303, (step, r.text)
        r = await staff.post(f"/warehouse/orders/{oid}/parcels/{pid}/ship", data={"csrf_token": staff.csrf})
        assert r.status_code == 409  # shipped already: the workflow refuses, nothing changes
        await wait_text(staff, f"/orders/{oid}", "shipped")
        r = await staff.post(
            f"/warehouse/orders/{oid}/parcels/{pid}/delivered", data={"csrf_token": staff.csrf}
        )
        assert r.status_code == 303
        page = await wait_text(staff, f"/orders/{oid}", 'id="order-status">Completed')
        assert "Temporal UI" in page.text and "Audit trail" in page.text and "label.pdf" in page.text
        assert "Payments ledger" in page.text and "capture" in page.text
        customer = await wait_text(shop, status_url, "Delivered")
        assert "tracking" in customer.text


async def test_card_entered_in_the_browser(dev_env, sqlite_db, commerce_settings, task_queue):
    """Issue 14 item 6 over HTTP: the shop offers no server-side test card (one posted anyway is
    ignored); the order waits for the card entered in the browser, a declined card leaves it
    waiting for another, and the post-back is believed only when Stripe confirms it."""
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        _a, _b, (p1,) = await make_shop(s, stock=((1, 1),))
    async with running(dev_env, db, settings, task_queue) as app:
        shop = client_for(app)
        status_url = await buy(shop, p1.id, payment_method="pm_card_visa")  # ignored
        assert "pm_card" not in (await shop.get("/shop/cart")).text
        page = await wait_text(shop, status_url, "Waiting for your payment")
        assert 'id="card-element"' in page.text
        early = await shop.post(f"{status_url}/payment", data={"csrf_token": shop.cookies.get("shop_sid")})
        assert "not%20complete" in early.headers["location"]  # nothing paid yet: nothing told
        forged = await client_for(app).post(f"{status_url}/payment", data={})
        assert forged.status_code == 403  # a form from another site: no token, nothing happens
        declined = await pay_in_browser(shop, status_url, settings, "4000000000000002")
        assert declined.status_code == 402 and declined.json()["error"]["code"] == "card_declined"
        page = await shop.get(status_url)
        assert "Waiting for your payment" in page.text and 'id="card-element"' in page.text
        assert (await pay_in_browser(shop, status_url, settings)).status_code == 200
        page = await wait_text(shop, status_url, "Being prepared")
        assert 'id="card-element"' not in page.text


def test_every_commerce_route_declares_its_permission(settings):
    app = make_app(type("DB", (), {"sessionmaker": None, "read_sessionmaker": None})(), settings)
    prefixes = (
        "/api/v1/products",
        "/api/v1/carts",
        "/api/v1/orders",
        "/api/v1/webhooks",
        "/shop",
        "/orders",
        "/warehouse",
        "/catalog",
    )
    missing = []
    for route in app.routes:
        route = getattr(route, "original_router", None) or route
        for r in getattr(route, "routes", [route]):
            if not isinstance(r, APIRoute) or not r.path.startswith(prefixes):
                continue
            deps = [d.call for d in r.dependant.dependencies]

            def marked(calls):
                return any(getattr(c, "permission", None) or getattr(c, "is_public", False) for c in calls)

            sub = [dd.call for d in r.dependant.dependencies for dd in d.dependencies]
            if not (marked(deps) or marked(sub)):
                missing.append(r.path)
    assert not missing


async def test_a_staff_refund_amount_is_read_in_the_orders_currency(sqlite_db, settings):
    """ "12.50" is no amount of yen: refused on the form, before any workflow is asked."""
    from backroom.orders.models import Order
    from tests.helpers import place

    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s)
        boss = await create_user(s, grants=[("admin", None)])
    order = await place(db, a, [(p1.id, 1)])
    async with db.sessionmaker.begin() as s:
        (await s.get(Order, order.id)).currency = "JPY"
    ui = await browser_client(make_app(db, settings), boss.username)
    form = {"csrf_token": ui.csrf, "amount": "12.50", "reason": "damaged"}
    r = await ui.post(f"/orders/{order.id}/refund", data=form)
    assert r.status_code == 422, r.text
    assert "more decimals than JPY allows" in r.text
