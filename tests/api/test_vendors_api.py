"""Marketplace vendors through the API and pages: applications (clear refusals), suspension and
reinstatement (audited, listings hidden), prices as a manager's right, a vendor role without a
vendor, edits that wait for the moderator, statements and payouts. The vendor user's scope on
every route (it finds nothing of another vendor and changes nothing of it) is walked in the
authorization matrix, tests/api/test_authz_matrix.py."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.catalog.models import Product
from backroom.starts.models import WorkflowStart
from backroom.vendors.models import LedgerEntry
from tests.helpers import (
    browser_client,
    create_branch,
    create_user,
    make_app,
    make_vendor,
    token_client,
    uniq,
    vendor_product,
    vendor_user,
)


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
