"""Marketplace vendors through the API and pages: applications (clear refusals), suspension and
reinstatement (audited, listings hidden), the vendor user's scope (issue 14 item 4: every route
walked as a vendor user finds nothing of another vendor and changes nothing of it), prices as a
manager's right, and what a vendor sees of an order (no customer e-mail or phone)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.catalog.models import Product
from backroom.orders.models import Order, OrderLine
from backroom.starts.models import WorkflowStart
from backroom.vendors import payouts as vendor_payouts
from backroom.vendors import service as vendors
from backroom.vendors.models import LedgerEntry, ProductChange, Vendor
from tests.api.routes import app_routes
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_branch,
    create_user,
    make_app,
    make_vendor,
    place,
    token_client,
    uniq,
    vendor_product,
    vendor_user,
)

SECRET_EMAIL = "b-buyer-secret@example.com"
SECRET_NAME = "Zebra Secret Vase"


async def test_apply_suspend_reinstate_audited(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        mgr = await create_user(s, grants=[("manager", b.id)])
        clerk = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)
    m = await token_client(app, db, mgr)
    body = {
        "name": uniq("Clay Co "),
        "legal_name": "Clay Company LLC",
        "contact_name": "Cleo",
        "contact_email": "cleo@clay.example.com",
        "tax_id": "US-99",
        "categories": ["Ceramics"],
        "payout_method": "bank",
        "bank_account_name": "Clay Company LLC",
        "branch_id": b.id,
    }
    r = await m.post("/api/v1/vendors", json=body)
    assert r.status_code == 422 and "IBAN" in r.text  # bank payout without the account
    r = await m.post("/api/v1/vendors", json={**body, "bank_iban": "DE89370400440532013000"})
    assert r.status_code == 201, r.text
    applied = r.json()
    assert applied["status"] == "applied"
    assert (
        await m.post("/api/v1/vendors", json={**body, "bank_iban": "DE89370400440532013000"})
    ).status_code == 409
    c = await token_client(app, db, clerk)
    assert (await c.post("/api/v1/vendors", json=body)).status_code == 403  # clerks only read
    # An approved vendor with a listed product: suspension hides it, reinstatement lists it again.
    async with db.sessionmaker.begin() as s:
        v = await make_vendor(s, branch=b)
        prod = await vendor_product(s, vendor=v, branch=b)
    r = await m.post(f"/api/v1/vendors/{v.id}/suspend", json={"reason": "x"})
    assert r.status_code == 422  # a reason of a few words is required
    r = await m.post(f"/api/v1/vendors/{v.id}/suspend", json={"reason": "Counterfeit complaints"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    shop = await m.get("/api/v1/products", params={"category": "Ceramics", "limit": 200})
    assert prod.id not in [x["id"] for x in shop.json()["items"]]
    r = await m.post(f"/api/v1/vendors/{v.id}/reinstate", json={"reason": "Resolved with the brand"})
    assert r.json()["status"] == "approved"
    async with db.read_sessionmaker() as s:
        assert (await s.get(Product, prod.id)).status == "active"
        actions = (
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "vendor", AuditEvent.entity_id == str(v.id)
                )
            )
        ).all()
    assert {"vendor.apply", "vendor.approved", "vendor.suspended"} <= set(
        actions
    ) and "vendor.approved" in actions
    assert actions.count("vendor.approved") == 2  # approval, then the reinstatement


async def test_price_change_is_a_managers_right_and_warehouse_keeps_stock(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        mgr = await create_user(s, grants=[("manager", b.id)])
        wh = await create_user(s, grants=[("warehouse", b.id)])
        clerk = await create_user(s, grants=[("clerk", b.id)])
        v = await make_vendor(s, branch=b)
        prod = await vendor_product(s, vendor=v, branch=b, price=4000)
    app = make_app(db, settings)
    w = await token_client(app, db, wh)
    assert (await w.patch(f"/api/v1/products/{prod.id}", json={"price_minor": 1})).status_code == 403
    r = await w.post(
        f"/api/v1/products/{prod.id}/stock", json={"branch_id": b.id, "delta": 2, "reason": "count"}
    )
    assert r.status_code == 200 and r.json()["stock"][0]["on_hand"] == 12
    assert (
        await (await token_client(app, db, clerk)).patch(
            f"/api/v1/products/{prod.id}", json={"price_minor": 1}
        )
    ).status_code == 403
    r = await (await token_client(app, db, mgr)).patch(
        f"/api/v1/products/{prod.id}", json={"price_minor": 4200}
    )
    assert r.status_code == 200 and r.json()["price_minor"] == 4200


async def _marketplace(db):
    """Vendor A (with the signed-in vendor user) and vendor B, each with a product and an order."""
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        va = await make_vendor(s, branch=b, name=uniq("Alpha "))
        vb = await make_vendor(s, branch=b, name=uniq("Bravo "), contact_phone="+1 555 0199")
        pa = await vendor_product(s, vendor=va, branch=b, name=uniq("Alpha mug "))
        pb = await vendor_product(s, vendor=vb, branch=b, name=SECRET_NAME, price=9900)
        user_a = await vendor_user(s, vendor=va, branch=b)
        mgr = await create_user(s, grants=[("manager", b.id)])
    order_a = await place(db, b, [(pa.id, 1)], email="a-buyer@example.com")
    order_b = await place(db, b, [(pb.id, 2)], email=SECRET_EMAIL)
    async with db.sessionmaker.begin() as s:
        change = await vendors.update_product(
            s, actor=TEST_ACTOR, vendor_id=vb.id, product_id=pb.id, data=_price(12000)
        )
        await vendors.adjust(
            s, actor=TEST_ACTOR, vendor_id=vb.id, amount_minor=5000, reason="opening", key=uniq()
        )
        payout = await vendor_payouts.create_payout(
            s, actor=TEST_ACTOR, run_key=uniq("run"), vendor_id=vb.id, approval_over_minor=10**9
        )
    return locals()


def _price(n):
    from backroom.catalog.schemas import ProductUpdate

    return ProductUpdate(price_minor=n)


async def test_vendor_user_walks_every_route_and_reaches_nothing_of_another_vendor(sqlite_db, settings):
    db = sqlite_db
    w = await _marketplace(db)
    vb, pb, order_b, payout = w["vb"], w["pb"], w["order_b"], w["payout"]
    app = make_app(db, settings)
    api = await token_client(app, db, w["user_a"])
    ui = await browser_client(app, w["user_a"].username)
    async with db.read_sessionmaker() as s:
        parcel_b = await s.scalar(select(OrderLine.parcel_id).where(OrderLine.order_id == order_b.id))
    ids = {
        "vendor_id": vb.id,
        "product_id": pb.id,
        "order_id": order_b.id,
        "parcel_id": parcel_b,
        "change_id": w["change"].id,
        "payout_id": payout.id,
    }
    secrets = (SECRET_EMAIL, SECRET_NAME, vb.name, "+1 555 0199")
    held = {p for role_perms in [__import__("policies").role_permissions()["vendor"]] for p in role_perms}
    walked = 0
    for route in app_routes(app):
        if route.public or not (route.permissions & held):
            continue  # refused by the role (403) before any record is looked at: proven in test_routes_rbac
        url = re.sub(r"\{([^}/]+)\}", lambda m: str(ids.get(m.group(1), 1)), route.path)
        client = api if route.is_api else ui
        if route.method == "GET":
            resp = await client.get(url)
        elif route.is_api:
            resp = await client.request(
                route.method, url, json={"reason": "take it", "price_minor": 1, "name": "x"}
            )
        else:
            resp = await client.post(
                url, data={"csrf_token": ui.csrf, "reason": "take it", "price_minor": "1"}
            )
        walked += 1
        assert resp.status_code < 500, f"{route}: {resp.status_code} {resp.text[:200]}"
        if route.method != "GET":
            assert resp.status_code in (303, 400, 403, 404, 409, 422), f"{route}: {resp.status_code}"
        for secret in secrets:
            assert secret not in resp.text, f"{route} shows {secret!r}"
    assert walked > 15
    async with db.read_sessionmaker() as s:
        product = await s.get(Product, pb.id)
        assert (product.price_minor, product.name, product.status) == (9900, SECRET_NAME, "active")
        assert (await s.get(Vendor, vb.id)).status == "approved"
        assert (await s.get(Order, order_b.id)).status == "placed"
        assert (await s.get(ProductChange, w["change"].id)).status == "pending"
    # Its own records it does reach: its order without the customer's e-mail, its product.
    mine = (await api.get("/api/v1/vendor-orders")).json()
    assert [o["order_id"] for o in mine] == [w["order_a"].id]
    assert "a-buyer@example.com" not in (await api.get(f"/api/v1/vendor-orders/{w['order_a'].id}")).text
    assert (await api.get(f"/api/v1/products/{w['pa'].id}")).status_code == 200
    assert (await api.get("/api/v1/orders")).status_code == 403  # the shop's orders are not its
    page = await ui.get("/vendors", follow_redirects=True)
    assert page.status_code == 200 and w["va"].name in page.text and "a-buyer@example.com" not in page.text


async def test_vendor_role_without_a_vendor_sees_nothing(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        v = await make_vendor(s, branch=b)
        await vendor_product(s, vendor=v, branch=b)
        loose = await create_user(s, grants=[("vendor", b.id)])
    api = await token_client(make_app(db, settings), db, loose)
    assert (await api.get("/api/v1/products", params={"limit": 200})).json()["items"] == []
    assert (await api.get("/api/v1/vendors")).json() == []
    assert (await api.get(f"/api/v1/vendors/{v.id}")).status_code == 404


async def test_vendor_edits_wait_for_the_moderator(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        v = await make_vendor(s, branch=b)
        trusted = await make_vendor(s, branch=b, trusted=True)
        prod = await vendor_product(s, vendor=v, branch=b, price=3000)
        user = await vendor_user(s, vendor=v, branch=b)
        tuser = await vendor_user(s, vendor=trusted, branch=b)
    app = make_app(db, settings)
    api = await token_client(app, db, user)
    r = await api.patch(f"/api/v1/products/{prod.id}", json={"price_minor": 10, "weight_g": 999})
    assert r.status_code == 200
    assert (r.json()["price_minor"], r.json()["weight_g"]) == (3000, 999)  # weight at once, price waits
    assert (await api.patch(f"/api/v1/products/{prod.id}", json={"price_minor": 20})).status_code == 409
    queue = (await api.get("/api/v1/vendor-product-changes", params={"status": "pending"})).json()
    assert [(c["product_id"], c["proposed"]) for c in queue] == [(prod.id, {"price_minor": 10})]
    r = await api.post(
        "/api/v1/products",
        json={"sku": uniq("N"), "name": "New jug", "category": "Ceramics", "price_minor": 800},
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    t = await token_client(app, db, tuser)
    r = await t.post(
        "/api/v1/products",
        json={"sku": uniq("T"), "name": "Trusted jug", "category": "Ceramics", "price_minor": 800},
    )
    assert r.status_code == 201 and r.json()["status"] == "active" and r.json()["vendor_id"] == trusted.id


async def test_monthly_statement_and_a_payout_run_by_hand(db, settings):
    """Issue 13 (vendor panel): a vendor's monthly statement (opening balance, the month's
    lines, totals, closing) as JSON, page and PDF, for its own vendor only; finance starts a
    payout run by hand (queued, audited), a vendor user cannot."""
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        finance = await create_user(s, grants=[("finance", b.id)])
        mine, theirs = await make_vendor(s, branch=b), await make_vendor(s, branch=b)
        seller = await vendor_user(s, vendor=mine, branch=b)
        for at, kind, amount in (
            (datetime(2026, 10, 20, tzinfo=UTC), "sale", 5000),
            (datetime(2026, 11, 2, tzinfo=UTC), "sale", 2500),
            (datetime(2026, 11, 2, tzinfo=UTC), "commission", -300),
            (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "payout", -4000),
            (datetime(2026, 12, 1, tzinfo=UTC), "sale", 999),
        ):
            s.add(
                LedgerEntry(
                    vendor_id=mine.id, kind=kind, amount_minor=amount, currency="USD", key=uniq("k"), at=at
                )
            )
    app = make_app(db, settings)
    c = await token_client(app, db, seller)
    st = (await c.get(f"/api/v1/vendors/{mine.id}/statement", params={"month": "2026-11"})).json()
    assert (st["opening_minor"], st["closing_minor"]) == (5000, 3200)
    assert st["totals"] == {"Sales": 2500, "Commission": -300, "Payouts": -4000}
    assert [line["amount_minor"] for line in st["lines"]] == [2500, -300, -4000]
    bad = await c.get(f"/api/v1/vendors/{mine.id}/statement", params={"month": "November"})
    assert bad.status_code == 422 and "2026-11" in bad.json()["detail"]
    assert (await c.get(f"/api/v1/vendors/{theirs.id}/statement")).status_code == 404
    assert (await c.post("/api/v1/vendor-payouts/runs", json={"reason": "Mine now"})).status_code == 403

    page = await browser_client(app, seller.username)
    shown = await page.get(f"/vendors/{mine.id}/statement?month=2026-11")
    assert "November 2026" in shown.text and "32.00 USD" in shown.text and "Commission" in shown.text
    pdf = await page.get(f"/vendors/{mine.id}/statement.pdf?month=2026-11")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await page.get(f"/vendors/{theirs.id}/statement")).status_code == 404

    f = await token_client(app, db, finance)
    assert (await f.post("/api/v1/vendor-payouts/runs", json={})).status_code == 422
    run = await f.post("/api/v1/vendor-payouts/runs", json={"reason": "Month-end settlement"})
    assert run.status_code == 202 and run.json()["run_key"].startswith("manual-")
    async with db.read_sessionmaker() as s:
        start = await s.scalar(
            select(WorkflowStart).where(WorkflowStart.workflow_id.endswith(run.json()["run_key"]))
        )
        logged = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "vendor.payout_run", AuditEvent.entity_id == run.json()["run_key"]
            )
        )
    assert start.args["run_key"] == run.json()["run_key"] and logged.actor_id == str(finance.id)
