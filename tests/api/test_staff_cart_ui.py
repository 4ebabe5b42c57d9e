"""The staff cart page: a clerk opens a cart for a customer, adds an item by SKU, enters a
code (for the customer's segment) and sees the discount per line and in total, or why a code
does not apply; staff of another branch may not see it. Dev server, real worker."""

from __future__ import annotations

from urllib.parse import unquote

from backroom.promotions import service as promotions
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.api.test_checkout import running
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_customer,
    create_user,
    make_promotion,
    make_shop,
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
