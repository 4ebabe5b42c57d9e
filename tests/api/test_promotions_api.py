"""Promotions and abandoned-carts API and pages: typed responses, record-level permissions,
clear refusals for bad input, audited exports; and the policy matrix of both functions."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

import policies
from backroom.audit.models import AuditEvent
from backroom.carts import service as carts
from backroom.recovery.models import CartRecovery
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_branch,
    create_customer,
    create_user,
    make_app,
    make_promotion,
    make_shop,
    token_client,
    uniq,
)


@pytest.fixture
async def world(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, b, (p1,) = await make_shop(s, stock=((10, 0),), prices=(2000,))
        users = {
            role: await create_user(s, grants=[(role, a.id)], full_name=f"{role.title()} One")
            for role in ("supervisor", "manager", "clerk", "agent")
        }
        users["other_manager"] = await create_user(s, grants=[("manager", b.id)])
    settings.shop_branch_code = a.code
    app = make_app(db, settings)
    return {"db": db, "app": app, "a": a, "b": b, "p1": p1, **users}


async def test_create_submit_generate_export(world):
    api = await token_client(world["app"], world["db"], world["supervisor"])
    code = uniq("SPRING").upper()
    r = await api.post(
        "/api/v1/promotions",
        json={
            "name": "Spring",
            "kind": "percentage",
            "percent_bp": 1500,
            "usage_limit": 100,
            "code": code.lower(),
        },
    )
    assert r.status_code == 201, r.text
    promo = r.json()
    assert promo["status"] == "draft" and promo["shared_code"] == code and promo["stats"]["uses_left"] == 100
    # Supervisors draft; a manager submits (policy.csv: coupons submit).
    assert (await api.post(f"/api/v1/promotions/{promo['id']}/submit")).status_code == 403
    mgr = await token_client(world["app"], world["db"], world["manager"])
    r = await mgr.post(f"/api/v1/promotions/{promo['id']}/submit")
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = await api.get("/api/v1/promotions", params={"status": "active"})
    assert promo["id"] in [x["id"] for x in r.json()["items"]]
    # Unique codes: generate, list, export (export needs coupons/export: a manager).
    r = await api.post(
        "/api/v1/promotions",
        json={
            "name": "Mailing",
            "kind": "fixed",
            "amount_minor": 500,
            "usage_limit": 50,
            "code_mode": "unique",
        },
    )
    uid = r.json()["id"]
    assert (await api.post(f"/api/v1/promotions/{uid}/codes", json={"count": 3})).status_code == 403
    r = await mgr.post(f"/api/v1/promotions/{uid}/codes", json={"count": 30, "prefix": "ml"})
    assert r.status_code == 201 and r.json()["generated"] == 30
    r = await mgr.get(f"/api/v1/promotions/{uid}/codes", params={"limit": 10})
    assert len(r.json()["items"]) == 10 and r.json()["next_cursor"]
    assert (await api.get(f"/api/v1/promotions/{uid}/codes.csv")).status_code == 403
    r = await mgr.get(f"/api/v1/promotions/{uid}/codes.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 30 and all(x["code"].startswith("ML") for x in rows)
    async with world["db"].read_sessionmaker() as s:
        assert await s.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "promotion.codes_export", AuditEvent.entity_id == uid
            )
        )


async def test_bad_input_and_wrong_state_are_clear(world):
    api = await token_client(world["app"], world["db"], world["supervisor"])
    r = await api.post(
        "/api/v1/promotions", json={"name": "No code", "kind": "percentage", "percent_bp": 1000}
    )
    assert r.status_code == 422 and "code customers will type" in r.text
    r = await api.post(
        "/api/v1/promotions",
        json={"name": "Zero", "kind": "percentage", "percent_bp": 0, "code": uniq("Z").upper()},
    )
    assert r.status_code == 409 and r.json()["detail"] == "Give a percentage between 0.01 % and 100 %."
    r = await api.post(
        "/api/v1/promotions",
        json={
            "name": "Cats",
            "kind": "fixed",
            "amount_minor": 100,
            "target": "category",
            "code": uniq("C").upper(),
        },
    )
    assert r.status_code == 409 and "category" in r.json()["detail"]
    r = await api.post(
        "/api/v1/promotions", json={"name": "Bad", "kind": "fixed", "amount_minor": 1, "code": "a b!"}
    )
    assert r.status_code == 422
    mgr = await token_client(world["app"], world["db"], world["manager"])
    r = await mgr.patch("/api/v1/promotions/999999", json={"name": "Nope"})
    assert r.status_code == 404
    async with world["db"].sessionmaker.begin() as s:
        promo = await make_promotion(s, world["a"])
    assert (await mgr.post(f"/api/v1/promotions/{promo.id}/archive")).json()["status"] == "archived"
    r = await mgr.patch(f"/api/v1/promotions/{promo.id}", json={"name": "Again"})
    assert r.status_code == 409 and "archived" in r.json()["detail"]
    # only activate, pause and archive are actions: another word names no resource
    assert (await mgr.post(f"/api/v1/promotions/{promo.id}/frobnicate")).status_code == 404


async def test_record_level_permissions(world):
    async with world["db"].sessionmaker.begin() as s:
        promo = await make_promotion(s, world["a"])
    other = await token_client(world["app"], world["db"], world["other_manager"])
    assert (await other.get(f"/api/v1/promotions/{promo.id}")).status_code == 403
    assert promo.id not in [x["id"] for x in (await other.get("/api/v1/promotions")).json()["items"]]
    clerk = await token_client(world["app"], world["db"], world["clerk"])
    assert (await clerk.get(f"/api/v1/promotions/{promo.id}")).status_code == 200
    assert (await clerk.post("/api/v1/promotions", json={})).status_code == 403
    assert (await clerk.post(f"/api/v1/promotions/{promo.id}/pause")).status_code == 403


async def test_abandoned_carts_list_and_manual_reminder(world):
    db = world["db"]
    async with db.sessionmaker.begin() as s:
        yes = await create_customer(s, branch=world["a"], consent_email=True, name="Yes Please")
        no = await create_customer(s, branch=world["a"], consent_email=False, name="No Thanks")
        rows = {}
        for cust in (yes, no):
            cart = await carts.create_cart(
                s, actor=TEST_ACTOR, branch_id=world["a"].id, currency="USD", customer_id=cust.id
            )
            from backroom.carts.models import CartLine
            from backroom.db.base import utcnow

            s.add(
                CartLine(
                    cart_id=cart.id,
                    product_id=world["p1"].id,
                    sku="S",
                    name="Thing 0",
                    qty=1,
                    unit_price_minor=2000,
                    line_total_minor=2000,
                )
            )
            cart.item_count, cart.total_minor = 1, 2000
            s.add(
                CartRecovery(
                    cart_id=cart.id,
                    branch_id=cart.branch_id,
                    customer_id=cust.id,
                    currency="USD",
                    value_minor=2000,
                    abandoned_at=utcnow(),
                    reminders_sent=0,
                    last_step=0,
                    recovered_minor=0,
                )
            )
            rows[cust.name] = cart
    mgr = await token_client(world["app"], world["db"], world["manager"])
    r = await mgr.get("/api/v1/abandoned-carts")
    assert r.status_code == 200
    names = {x["customer_name"]: x for x in r.json()["items"]}
    assert names["Yes Please"]["value_minor"] == 2000 and names["Yes Please"]["item_count"] == 1
    r = await mgr.post(f"/api/v1/abandoned-carts/{rows['Yes Please'].id}/reminders")
    assert r.status_code == 201 and r.json()["sent"] is True
    r = await mgr.post(f"/api/v1/abandoned-carts/{rows['No Thanks'].id}/reminders")
    assert r.status_code == 409 and "marketing" in r.json()["detail"]
    detail = (await mgr.get(f"/api/v1/abandoned-carts/{rows['Yes Please'].id}")).json()
    assert detail["reminders_sent"] == 1 and detail["reminders"][0]["manual"] is True
    r = await mgr.put(f"/api/v1/abandoned-carts/settings/{world['a'].id}", json={"delays_hours": [2, 48]})
    assert r.status_code == 200 and r.json()["delays_hours"] == [2, 48]
    r = await mgr.put(f"/api/v1/abandoned-carts/settings/{world['a'].id}", json={"delays_hours": [0]})
    assert r.status_code == 422
    agent = await token_client(world["app"], world["db"], world["agent"])
    assert (await agent.get("/api/v1/abandoned-carts")).status_code == 403
    # The page lists them with names and money; the button sends by hand.
    web = await browser_client(world["app"], world["manager"].username)
    page = await web.get("/abandoned-carts")
    assert page.status_code == 200 and "Yes Please" in page.text and "20.00 USD" in page.text
    assert "Reminder cadence" in page.text and "2.0, 48.0" in page.text
    r = await web.post(
        f"/abandoned-carts/settings/{world['a'].id}",
        data={"csrf_token": web.csrf, "enabled": "on", "delays_hours": "1, 12"},
    )
    assert r.status_code == 303 and "saved" in r.headers["location"]
    r = await web.post(
        f"/abandoned-carts/settings/{world['a'].id}", data={"csrf_token": web.csrf, "delays_hours": "soon"}
    )
    assert r.status_code == 422 and "reminder delays in hours" in r.text
    assert (await mgr.get(f"/api/v1/abandoned-carts/settings/{world['a'].id}")).json()["delays_hours"] == [
        1,
        12,
    ]


async def test_promotion_pages(world):
    web = await browser_client(world["app"], world["supervisor"].username)
    assert (await web.get("/promotions")).status_code == 200
    assert (await web.get("/promotions/new")).status_code == 200
    code = uniq("PAGE").upper()
    form = {
        "csrf_token": web.csrf,
        "name": "Page promo",
        "kind": "fixed",
        "amount": "7.50",
        "min_subtotal": "30",
        "usage_limit": "20",
        "code_mode": "shared",
        "code": code,
        "target": "order",
        "eligibility": "all",
        "priority": "100",
    }
    r = await web.post("/promotions/new", data=form)
    assert r.status_code == 303, r.text[:500]
    page = await web.get(r.headers["location"])
    assert "7.50 USD off" in page.text and code in page.text and "30.00 USD" in page.text
    bad = await web.post("/promotions/new", data={**form, "amount": "7.505", "code": uniq("X").upper()})
    assert bad.status_code == 422 and "Type an amount like 12.50" in bad.text
    # Products are chosen by SKU, never by id.
    sku = world["p1"].sku
    bad = await web.post(
        "/promotions/new",
        data={**form, "target": "products", "products": "NO-SUCH", "code": uniq("X").upper()},
    )
    assert bad.status_code == 422 and "No product has the SKU NO-SUCH" in bad.text
    r = await web.post(
        "/promotions/new",
        data={**form, "target": "products", "products": sku.lower(), "code": uniq("P").upper()},
    )
    assert r.status_code == 303
    page = await web.get(r.headers["location"])
    assert "on 1 product(s)" in page.text
    mgr = await browser_client(world["app"], world["manager"].username)  # may change it: sees the form
    assert sku in (await mgr.get(r.headers["location"])).text


MATRIX = [
    ("manager", "coupons", "approve", True),
    ("finance", "coupons", "approve", True),
    ("supervisor", "coupons", "create", True),
    ("supervisor", "coupons", "approve", False),
    ("supervisor", "coupons", "post", False),
    ("clerk", "coupons", "read", True),
    ("clerk", "coupons", "create", False),
    ("agent", "coupons", "update", False),
    ("auditor", "coupons", "export", True),
    ("auditor", "coupons", "create", False),
    ("manager", "abandoned_carts", "post", True),
    ("clerk", "abandoned_carts", "list", False),
    ("agent", "abandoned_carts", "read", False),
    ("auditor", "abandoned_carts", "read", True),
    ("auditor", "abandoned_carts", "post", False),
    ("vendor", "coupons", "list", False),
]


@pytest.mark.parametrize(
    "role,function,action,allowed", MATRIX, ids=[f"{r}-{f}-{a}" for r, f, a, _ in MATRIX]
)
def test_policy_matrix(role, function, action, allowed):
    enforcer = policies.load_enforcer([(7, role, 3)])
    assert enforcer.enforce("user:7", function, action, "3") is allowed
    assert enforcer.enforce("user:7", function, action, "4") is False


async def test_other_branch_cannot_see_promotion_page(world):
    async with world["db"].sessionmaker.begin() as s:
        b2 = await create_branch(s)
        promo = await make_promotion(s, b2)
    web = await browser_client(world["app"], world["manager"].username)
    assert (await web.get(f"/promotions/{promo.id}")).status_code == 403
