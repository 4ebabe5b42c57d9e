"""API tokens (own and, for admins, anyone's) and user administration, API and pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from tests.helpers import browser_client, client_for, create_branch, create_user, make_app, token_client, uniq


async def _setup(db, *grants_by_name):
    async with db.sessionmaker.begin() as s:
        b1, b2 = await create_branch(s), await create_branch(s)
        users = {}
        for name, grants in grants_by_name:
            users[name] = await create_user(
                s, grants=[(r, {"b1": b1.id, "b2": b2.id, None: None}[k]) for r, k in grants]
            )
    return b1, b2, users


async def test_token_secret_is_shown_once_works_and_stops_working_when_revoked(db, settings):
    _, _, users = await _setup(db, ("clerk", [("clerk", "b1")]), ("other", [("clerk", "b1")]))
    app = make_app(db, settings)
    me = await token_client(app, db, users["clerk"])
    # A token cannot mint tokens (a leaked one could otherwise outlive its revocation)...
    minted = await me.post("/api/v1/tokens", json={"name": "child"})
    assert minted.status_code == 403 and minted.json()["code"] == "token_cannot_mint"
    # ...a signed-in user can, through the JSON API too.
    browser = await browser_client(app, users["clerk"].username)
    resp = await browser.post(
        "/api/v1/tokens",
        json={"name": "export script", "expires_in_days": 30},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert resp.status_code == 201
    created = resp.json()
    assert created["secret"].startswith(created["prefix"]) and created["expires_at"]

    script = client_for(app)
    script.headers["Authorization"] = f"Bearer {created['secret']}"
    listed = (await script.get("/api/v1/tokens")).json()["items"]
    assert created["id"] in [t["id"] for t in listed]
    assert all("secret" not in t for t in listed)

    other = await token_client(app, db, users["other"])
    assert (await other.delete(f"/api/v1/tokens/{created['id']}")).status_code == 404  # not theirs
    assert (await me.delete(f"/api/v1/tokens/{created['id']}")).json()["revoked_at"]
    resp = await script.get("/api/v1/tokens")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"


async def test_tokens_page_shows_the_secret_once(db, settings):
    _, _, users = await _setup(db, ("clerk", [("clerk", "b1")]))
    app = make_app(db, settings)
    c = await browser_client(app, users["clerk"].username)
    resp = await c.post("/account/tokens", data={"csrf_token": c.csrf, "name": "till sync"})
    assert resp.status_code == 201 and resp.headers["cache-control"] == "no-store"
    secret = re.search(r"(brk_[\w-]+)", resp.text)[1]
    page = await c.get("/account/tokens")
    assert "till sync" in page.text and secret not in page.text
    bad = await c.post("/account/tokens", data={"csrf_token": c.csrf, "name": ""})
    assert bad.status_code == 422 and "field-error" in bad.text


async def test_admin_creates_user_grants_and_revokes_roles_all_audited(db, settings):
    b1, b2, users = await _setup(db, ("admin", [("admin", None)]), ("manager", [("manager", "b1")]))
    app = make_app(db, settings)
    admin = await token_client(app, db, users["admin"])
    name = uniq("new")
    resp = await admin.post(
        "/api/v1/admin/users",
        json={
            "username": name,
            "full_name": "New Clerk",
            "password": "long-enough-pw",
            "grants": [{"role": "clerk", "branch_id": b1.id}],
        },
    )
    assert resp.status_code == 201, resp.text
    uid = resp.json()["id"]
    assert resp.json()["grants"] == [{"role": "clerk", "branch_id": b1.id}]

    dup = await admin.post(
        "/api/v1/admin/users", json={"username": name, "full_name": "x", "password": "long-enough-pw"}
    )
    assert dup.status_code == 409
    assert (
        await admin.post(f"/api/v1/admin/users/{uid}/grants", json={"role": "finance", "branch_id": 999_999})
    ).status_code == 404
    assert (await admin.post(f"/api/v1/admin/users/{uid}/grants", json={"role": "wizard"})).status_code == 422

    resp = await admin.post(f"/api/v1/admin/users/{uid}/grants", json={"role": "finance", "branch_id": b2.id})
    assert {"role": "finance", "branch_id": b2.id} in resp.json()["grants"]
    # The new user can now approve credit in b2 (through the API, the grant is live at once).
    async with db.sessionmaker() as s:
        from backroom.auth import service as auth
        from policies import load_enforcer

        user = await auth.get_user(s, uid)
        p = await auth.principal_for(s, user, load_enforcer())
    assert p.can("credit", "approve", b2.id) and not p.can("credit", "approve", b1.id)

    resp = await admin.delete(f"/api/v1/admin/users/{uid}/grants/finance", params={"branch_id": b2.id})
    assert resp.json()["grants"] == [{"role": "clerk", "branch_id": b1.id}]
    async with db.read_sessionmaker() as s:
        actions = list(
            (
                await s.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(uid))
                    .order_by(AuditEvent.id)
                )
            ).scalars()
        )
    assert actions == ["user.create", "role.grant", "role.grant", "role.revoke"]

    # The new user signs in with the password the admin set.
    assert (await browser_client(app, name, "long-enough-pw")).csrf

    # An admin cannot lock themselves out.
    me = users["admin"].id
    resp = await admin.delete(f"/api/v1/admin/users/{me}/grants/admin")
    assert (
        resp.status_code == 409
        and {"role": "admin", "branch_id": None}
        in (await admin.get(f"/api/v1/admin/users/{me}")).json()["grants"]
    )

    # A manager may look at users but not change them.
    manager = await token_client(app, db, users["manager"])
    assert (await manager.get("/api/v1/admin/users", params={"q": name})).json()["items"][0]["id"] == uid
    resp = await manager.post(f"/api/v1/admin/users/{uid}/grants", json={"role": "admin"})
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"


async def test_admin_lists_and_revokes_someone_elses_tokens(db, settings):
    _, _, users = await _setup(db, ("admin", [("admin", None)]), ("clerk", [("clerk", "b1")]))
    app = make_app(db, settings)
    admin = await token_client(app, db, users["admin"])
    uid = users["clerk"].id
    clerk_browser = await browser_client(app, users["clerk"].username)
    created = (
        await clerk_browser.post(
            "/api/v1/tokens", json={"name": "svc"}, headers={"X-CSRF-Token": clerk_browser.csrf}
        )
    ).json()
    assert created["user_id"] == uid
    assert created["id"] in [
        t["id"] for t in (await admin.get(f"/api/v1/admin/users/{uid}/tokens")).json()["items"]
    ]
    assert (await admin.delete(f"/api/v1/admin/users/{uid}/tokens/{created['id']}")).json()["revoked_at"]
    clerk = await token_client(app, db, users["clerk"])
    assert (await clerk.get(f"/api/v1/admin/users/{uid}/tokens")).status_code == 403


async def test_admin_pages_create_user_and_grant_role(db, settings):
    b1, _, users = await _setup(db, ("admin", [("admin", None)]))
    app = make_app(db, settings)
    c = await browser_client(app, users["admin"].username)
    name = uniq("pg")
    resp = await c.post(
        "/admin/users",
        data={
            "csrf_token": c.csrf,
            "username": name,
            "full_name": "Page Made",
            "password": "long-enough-pw",
            "role": "clerk",
            "branch": str(b1.id),
        },
    )
    assert resp.status_code == 303
    user_url = resp.headers["location"].split("?")[0]
    resp = await c.post(f"{user_url}/grants", data={"csrf_token": c.csrf, "role": "finance", "branch": "all"})
    assert resp.status_code == 303
    page = await c.get(user_url)
    assert "finance" in page.text and "every branch" in page.text and "clerk" in page.text
    short = await c.post(
        "/admin/users",
        data={"csrf_token": c.csrf, "username": uniq("pg"), "full_name": "x", "password": "short"},
    )
    assert short.status_code == 422 and "at least 8 characters" in short.text
