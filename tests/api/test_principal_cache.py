"""The caller's principal is cached per token/session, keyed on users.auth_version: repeated
requests skip the grant reads, and a grant, revocation, deactivation or password change counts
from the very next request."""

from __future__ import annotations

from backroom.auth import service as auth
from tests.helpers import TEST_ACTOR, browser_client, create_branch, create_user, make_app, token_client


async def _people(db):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        admin = await create_user(s, grants=[("admin", None)])
        staff = await create_user(s, grants=[("clerk", branch.id), ("manager", branch.id)])
    return branch, admin, staff


async def test_revoked_role_is_refused_on_the_next_request_and_granted_one_allowed(db, settings):
    branch, admin_user, staff_user = await _people(db)
    app = make_app(db, settings)
    admin = await token_client(app, db, admin_user)
    staff = await token_client(app, db, staff_user)
    for _ in range(3):
        assert (await staff.get("/api/v1/admin/users")).status_code == 200
    cache = app.state.principals
    assert cache.hits >= 2  # the grants were read once for this token, not per request

    resp = await admin.delete(
        f"/api/v1/admin/users/{staff_user.id}/grants/manager", params={"branch_id": branch.id}
    )
    assert resp.status_code == 200
    denied = await staff.get("/api/v1/admin/users")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert (await staff.get("/api/v1/customers")).status_code == 200  # still a clerk

    resp = await admin.post(
        f"/api/v1/admin/users/{staff_user.id}/grants", json={"role": "manager", "branch_id": branch.id}
    )
    assert resp.status_code == 200
    assert (await staff.get("/api/v1/admin/users")).status_code == 200


async def test_deactivated_user_is_signed_out_on_the_next_request(db, settings):
    _, admin_user, staff_user = await _people(db)
    app = make_app(db, settings)
    admin = await token_client(app, db, admin_user)
    staff = await token_client(app, db, staff_user)
    browser = await browser_client(app, staff_user.username)
    assert (await staff.get("/api/v1/customers")).status_code == 200
    assert (await browser.get("/api/v1/customers")).status_code == 200

    assert (await admin.post(f"/api/v1/admin/users/{staff_user.id}/deactivate")).status_code == 200
    resp = await staff.get("/api/v1/customers")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
    assert (await browser.get("/api/v1/customers")).status_code == 401


async def test_every_change_to_a_users_rights_bumps_auth_version(db, settings):
    branch, _, staff_user = await _people(db)

    async def version() -> int:
        async with db.sessionmaker() as s:
            return (await auth.get_user(s, staff_user.id)).auth_version

    steps = [
        lambda s: auth.grant_role(
            s, actor=TEST_ACTOR, user_id=staff_user.id, role="finance", branch_id=branch.id
        ),
        lambda s: auth.revoke_role(
            s, actor=TEST_ACTOR, user_id=staff_user.id, role="finance", branch_id=branch.id
        ),
        lambda s: auth.reset_password(
            s, actor=TEST_ACTOR, user_id=staff_user.id, password="another-password"
        ),
        lambda s: auth.set_active(s, actor=TEST_ACTOR, user_id=staff_user.id, active=False),
        lambda s: auth.set_active(s, actor=TEST_ACTOR, user_id=staff_user.id, active=True),
    ]
    before = await version()
    for step in steps:
        async with db.sessionmaker.begin() as s:
            await step(s)
        after = await version()
        assert after > before
        before = after
    # Idempotent repeats change nothing, so they keep the cache warm.
    async with db.sessionmaker.begin() as s:
        await auth.set_active(s, actor=TEST_ACTOR, user_id=staff_user.id, active=True)
    assert await version() == before
