"""The staff cart page: a clerk opens a cart for a customer, adds an item by SKU, enters a
code (for the customer's segment) and sees the discount per line and in total, or why a code
does not apply; staff of another branch may not see it. Dev server, real worker."""

from __future__ import annotations

import re
from urllib.parse import unquote

from sqlalchemy import func, select

from backroom.customers.models import CustomerAddress
from backroom.notifications.models import Notification
from backroom.orders.models import Order
from backroom.promotions import service as promotions
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.api.test_checkout import running
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    client_for,
    create_customer,
    create_user,
    eventually,
    make_promotion,
    make_shop,
    pay_in_browser,
    uniq,
)


def flash(resp) -> str:
    return (
        unquote(resp.headers["location"].split("flash=", 1)[-1])
        if "flash=" in resp.headers["location"]
        else ""
    )


async def test_clerk_works_a_customers_cart(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, b, (p1,) = await make_shop(s, stock=((10, 0),), prices=(2000,))
        clerk = await create_user(s, grants=[("clerk", a.id)])
        stranger = await create_user(s, grants=[("clerk", b.id)])
        tag = uniq("vip")
        customer = await create_customer(s, branch=a, tags=[tag], name="Ada Vip")
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("VIP "),
                rules=Group.model_validate({"conditions": [{"attr": "tag", "op": "is", "value": tag}]}),
            ),
        )
        promo = await make_promotion(s, a, percent_bp=1000, eligibility="segment", segment_id=seg.id)
        code = await promotions.shared_code(s, promo.id)
    async with running(dev_env, db, settings, task_queue) as app:
        c = await browser_client(app, clerk.username)
        assert f'action="/customers/{customer.id}/cart"' in (await c.get(f"/customers/{customer.id}")).text
        r = await c.post(f"/customers/{customer.id}/cart", data={"csrf_token": c.csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/carts/"), r.text
        url = r.headers["location"]
        r = await c.post(f"{url}/items", data={"csrf_token": c.csrf, "sku": p1.sku.lower(), "qty": "2"})
        assert flash(r) == f"Added 2 × {p1.name}."
        r = await c.post(f"{url}/codes", data={"csrf_token": c.csrf, "code": "NOPE"})
        assert flash(r) == "Not changed: The code NOPE does not exist."
        r = await c.post(f"{url}/codes", data={"csrf_token": c.csrf, "code": code.lower()})
        assert flash(r) == f"Code {code} applied."
        page = await c.get(url)
        assert page.status_code == 200
        assert "Ada Vip" in page.text and promo.name in page.text
        assert "−4.00 USD" in page.text  # 10 % of 40.00, per line and in total
        assert 'id="cart-total"' in page.text and p1.sku in page.text
        # Opening "a cart" again goes to the one the customer has open.
        r = await c.post(f"/customers/{customer.id}/cart", data={"csrf_token": c.csrf})
        assert r.headers["location"] == url
        listing = await c.get(f"/carts?customer={customer.id}")
        assert f'href="{url}"' in listing.text
        other = await browser_client(app, stranger.username)
        assert (await other.get(url)).status_code == 403


async def test_clerk_places_the_order_and_the_customer_pays_by_link(
    dev_env, sqlite_db, commerce_settings, task_queue
):
    """Issue 10: the order is placed from the staff cart page. The form is filled in from the
    customer (e-mail, default shipping address); the order waits for the card, the customer is
    e-mailed the link to pay on the shop's order page (Stripe.js), and pays there. The same
    form sent twice places one order; a bad address re-shows the form with the reason."""
    db, settings = sqlite_db, commerce_settings
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((10, 0),), prices=(2000,))
        clerk = await create_user(s, grants=[("clerk", a.id)])
        customer = await create_customer(s, branch=a, name="Pat Phone", email=f"{uniq('pat')}@example.com")
        s.add(
            CustomerAddress(
                customer_id=customer.id,
                line1="1 Dial Road",
                city="Ringwood",
                postal_code="10001",
                country="US",
            )
        )
    async with running(dev_env, db, settings, task_queue) as app:
        c = await browser_client(app, clerk.username)
        url = (await c.post(f"/customers/{customer.id}/cart", data={"csrf_token": c.csrf})).headers[
            "location"
        ]
        await c.post(f"{url}/items", data={"csrf_token": c.csrf, "sku": p1.sku, "qty": "2"})
        page = (await c.get(url)).text
        assert 'action="' + url + '/order"' in page
        for shown in (customer.email, "Pat Phone", "1 Dial Road", "Ringwood", "10001"):
            assert f'value="{shown}"' in page, shown
        key = re.search(r'name="checkout_key" value="(\w+)"', page)[1]
        form = {
            "csrf_token": c.csrf,
            "checkout_key": key,
            "email": customer.email,
            "ship_name": "Pat Phone",
            "ship_line1": "1 Dial Road",
            "ship_city": "Ringwood",
            "ship_postcode": "10001",
            "ship_country": "usa",
        }
        bad = await c.post(f"{url}/order", data=form)
        assert bad.status_code == 422 and "two-letter code" in bad.text  # nothing ordered
        form["ship_country"] = "US"
        placed = await c.post(f"{url}/order", data=form)
        assert placed.status_code == 303 and re.match(
            r"/orders/\d+$", placed.headers["location"].split("?")[0]
        )
        assert f"{customer.email} gets an e-mail with a link to pay by card" in flash(placed)
        again = await c.post(f"{url}/order", data=form)  # a double click: the same order
        assert again.headers["location"].split("?")[0] == placed.headers["location"].split("?")[0]
        order_id = int(placed.headers["location"].split("?")[0].rsplit("/", 1)[1])

        async def mailed():
            async with db.read_sessionmaker() as s:
                return await s.scalar(
                    select(Notification).where(Notification.dedupe_key == f"order-{order_id}:payment_link:1")
                )

        link = await eventually(mailed, timeout=20)
        assert link.to_address == customer.email and f"Pay for your order #{order_id}" == link.subject
        async with db.read_sessionmaker() as s:
            total = (await s.get(Order, order_id)).total_minor  # 2 x 20.00, tax and shipping
        assert f"Your order #{order_id} is ready: {total / 100:.2f} USD." in link.body
        shop = client_for(app)
        assert (await pay_in_browser(shop, link.link, settings)).status_code == 200
        async with db.read_sessionmaker() as s:
            count = await s.scalar(select(func.count(Order.id)).where(Order.customer_id == customer.id))
        assert count == 1

        async def paid():
            async with db.read_sessionmaker() as s:
                return (await s.get(Order, order_id)).status not in ("placed", "awaiting_payment")

        assert await eventually(paid, timeout=20)
