"""The authorization matrix (issue 16, harness): every route of the app (JSON API and pages),
asked by every role once granted in one branch and once in every branch, answers what
policies/policy.csv says: 403 when the role lacks the route's (function, action), and the
request reaches the handler when it holds it. Anonymous callers get 401 (API) or the sign-in
page (UI). Then the scope cases, through the real handlers: a record of another branch is
refused to a branch-scoped grant and served to an every-branch one, and a vendor user on every
route its role may call reaches nothing of another vendor (the vendor scope).

For the 5,000-odd route × role × scope requests the handlers are not run: each route's
`require` dependency is overridden by itself plus a "reached" signal (a 204), so the real
sign-in, principal and grant lookup decide, and a request the guard lets through stops there
(running every handler with made-up ids took 12 minutes and only said "not 403")."""

from __future__ import annotations

import re

import pytest
from fastapi import Depends, Response
from sqlalchemy import select

import policies
from api.deps import current_principal
from backroom.auth import service as auth_service
from backroom.auth.models import ApiToken
from backroom.catalog.models import Product
from backroom.orders.models import Order, OrderLine
from backroom.vendors import payouts as vendor_payouts
from backroom.vendors import service as vendors
from backroom.vendors.models import ProductChange, Vendor
from tests.api.routes import RouteInfo, app_routes
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    client_for,
    create_branch,
    create_customer,
    create_user,
    make_app,
    make_vendor,
    place,
    token_client,
    uniq,
    vendor_product,
    vendor_user,
)

# (role, scope) pairs: each role granted in branch 1 only, and in every branch.
SCOPES = ("branch", "global")
MISSING = "987654321"  # an id no record has: a write never touches a real record


class Reached(Exception):
    """The route's guard let the request through."""


def stop_after_the_guard(app) -> None:
    """Override every route's require(...) dependency with itself followed by Reached."""
    seen = set()

    def walk(dependant):
        for dep in dependant.dependencies:
            call = getattr(dep, "call", None)
            if getattr(call, "permission", None) and call not in seen:
                seen.add(call)
                app.dependency_overrides[call] = _guarded(call)
            walk(dep)

    for route in app_routes(app):
        walk(route.route.dependant)
    app.add_exception_handler(Reached, lambda request, exc: Response(status_code=204))


def _guarded(guard):
    async def then_stop(principal=Depends(current_principal)):
        await guard(principal)
        raise Reached()

    return then_stop


def expected_allowed(route: RouteInfo, role: str) -> bool:
    """From the policy alone: the role holds every permission the route requires."""
    return route.permissions <= policies.role_permissions().get(role, frozenset())


def refused(route: RouteInfo, resp) -> bool:
    if resp.status_code != 403:
        return False
    return resp.json()["code"] == "forbidden" if route.is_api else "Not allowed" in resp.text


async def _call(client, route: RouteInfo, url: str | None = None):
    body = None if route.method in ("GET", "DELETE") else {}
    return await client.request(route.method, url or route.url(MISSING), json=body)


@pytest.fixture
async def world(fresh_db, settings):
    db = fresh_db
    app = make_app(db, settings)
    async with db.sessionmaker.begin() as s:
        home, other = await create_branch(s), await create_branch(s)
        users = {
            (role, scope): await create_user(s, grants=[(role, home.id if scope == "branch" else None)])
            for role in policies.ROLES
            for scope in SCOPES
        }
        stranger = await create_customer(s, branch=other)
    clients = {key: await token_client(app, db, user) for key, user in users.items()}
    return app, clients, home, other, stranger


async def test_every_route_answers_every_role_as_the_policy_says(world):
    app, clients, *_ = world
    stop_after_the_guard(app)
    routes = [r for r in app_routes(app) if r.permissions]
    wrong = []
    for route in routes:
        for (role, scope), client in clients.items():
            resp = await _call(client, route)
            allowed = expected_allowed(route, role)
            if allowed and resp.status_code != 204:
                wrong.append(f"{route} {role}@{scope}: {resp.status_code}, policy allows")
            elif not allowed and not refused(route, resp):
                wrong.append(f"{route} {role}@{scope}: {resp.status_code}, policy refuses")
    assert wrong == [], "\n".join(wrong)
    assert len(routes) * len(clients) > 2000  # every guarded route, every role, both scopes


async def test_anonymous_callers_are_sent_to_sign_in(world):
    app, *_ = world
    anonymous = client_for(app)
    for route in app_routes(app):
        if not route.permissions:
            continue
        resp = await _call(anonymous, route)
        if route.is_api:
            assert resp.status_code == 401 and resp.json()["code"] == "unauthorized", str(route)
        else:
            assert resp.status_code in (302, 303) and resp.headers["location"].startswith("/login"), str(
                route
            )


async def test_a_customer_of_another_branch_is_refused_to_a_branch_grant(world):
    """Every route about one customer, asked for a customer of the other branch."""
    app, clients, _, _, stranger = world
    routes = [
        r for r in app_routes(app) if r.permissions and r.method == "GET" and r.path.endswith("{customer_id}")
    ]
    assert len(routes) >= 2
    checked = 0
    for route in routes:
        url = route.path.replace("{customer_id}", str(stranger.id))
        for (role, scope), client in clients.items():
            if not expected_allowed(route, role):
                continue
            resp = await _call(client, route, url)
            if scope == "branch":
                assert refused(route, resp), f"{route} {role}@branch: {resp.status_code}"
            else:
                assert resp.status_code == 200, f"{route} {role}@global: {resp.status_code} {resp.text[:200]}"
            checked += 1
    assert checked >= 10


def _query_names(dependant, required: bool = False) -> set[str]:
    names = {q.name for q in dependant.query_params if not required or q.field_info.is_required()}
    for sub in dependant.dependencies:
        names |= _query_names(sub, required)
    return names


async def test_another_branch_asked_for_by_name_is_refused_to_a_branch_grant(world):
    """Every JSON read without path or other required parameters that takes `branch`, asked for
    the other branch (the reports and dashboards take theirs after a path: tested with them)."""
    app, clients, home, other, _ = world
    routes = [
        r
        for r in app_routes(app)
        if r.is_api and r.method == "GET" and r.permissions and "{" not in r.path
        if "branch" in _query_names(r.route.dependant) and not _query_names(r.route.dependant, required=True)
    ]
    assert len(routes) >= 5
    for route in routes:
        for (role, scope), client in clients.items():
            if not expected_allowed(route, role):
                continue
            resp = await client.get(route.path, params={"branch": other.id})
            if scope == "branch":
                assert refused(route, resp), f"{route} {role}@branch: {resp.status_code}"
                mine = await client.get(route.path, params={"branch": home.id})
                assert mine.status_code == 200, (
                    f"{route} {role}@branch own: {mine.status_code} {mine.text[:200]}"
                )
            else:
                assert resp.status_code == 200, f"{route} {role}@global: {resp.status_code} {resp.text[:200]}"


# The vendor scope (issue 14 item 4), on every route the vendor role may call.
SECRET_EMAIL = "b-buyer-secret@example.com"
SECRET_NAME = "Zebra Secret Vase"


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


async def test_a_vendor_user_on_every_route_reaches_nothing_of_another_vendor(sqlite_db, settings):
    """The vendor scope: a vendor user holds the vendor role's rights, but only over its own
    vendor. On every route its role may call, with another vendor's ids, it sees none of that
    vendor's records or its customers' details and changes nothing (the role's 403s are above)."""
    db = sqlite_db
    w = await _marketplace(db)
    vb, pb, order_b, payout = w["vb"], w["pb"], w["order_b"], w["payout"]
    app = make_app(db, settings)
    api = await token_client(app, db, w["user_a"])
    ui = await browser_client(app, w["user_a"].username)
    async with db.read_sessionmaker() as s:
        parcel_b = await s.scalar(select(OrderLine.parcel_id).where(OrderLine.order_id == order_b.id))
    async with db.sessionmaker.begin() as s:  # another user's token: not the vendor's to revoke
        _, theirs = await auth_service.create_token(s, actor=TEST_ACTOR, user_id=w["mgr"].id, name="theirs")
    ids = {
        "vendor_id": vb.id,
        "product_id": pb.id,
        "order_id": order_b.id,
        "parcel_id": parcel_b,
        "change_id": w["change"].id,
        "payout_id": payout.id,
        "token_id": theirs.id,
    }
    secrets = (SECRET_EMAIL, SECRET_NAME, vb.name, "+1 555 0199")
    held = policies.role_permissions()["vendor"]
    walked = 0
    for route in app_routes(app):
        if route.public or not (route.permissions & held):
            continue  # refused by the role (403) before any record is looked at: the matrix above
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
        assert (await s.get(ApiToken, theirs.id)).revoked_at is None
    # Its own records it does reach: its order without the customer's e-mail, its product.
    mine = (await api.get("/api/v1/vendor-orders")).json()
    assert [o["order_id"] for o in mine] == [w["order_a"].id]
    assert "a-buyer@example.com" not in (await api.get(f"/api/v1/vendor-orders/{w['order_a'].id}")).text
    assert (await api.get(f"/api/v1/products/{w['pa'].id}")).status_code == 200
    assert (await api.get("/api/v1/orders")).status_code == 403  # the shop's orders are not its
    page = await ui.get("/vendors", follow_redirects=True)
    assert page.status_code == 200 and w["va"].name in page.text and "a-buyer@example.com" not in page.text
