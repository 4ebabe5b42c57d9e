"""Issue 16, defect 3: nobody hands out more than they hold. A branch admin can neither make
itself (or anyone) admin of every branch nor mint a token that acts as someone else."""

from __future__ import annotations

from sqlalchemy import select

from backroom.auth import service as auth
from backroom.auth.models import ApiToken
from tests.helpers import TEST_ACTOR, browser_client, create_branch, create_user, make_app, token_client, uniq


async def _world(db):
    async with db.sessionmaker.begin() as s:
        b1, b2 = await create_branch(s), await create_branch(s)
        boss = await create_user(s, grants=[("admin", None)])
        local = await create_user(s, grants=[("admin", b1.id)])
        clerk = await create_user(s, grants=[("clerk", b1.id)])
    return b1, b2, boss, local, clerk


async def _grants(db, user_id):
    async with db.read_sessionmaker() as s:
        return set(await auth.user_grants(s, user_id))


async def test_a_branch_admin_cannot_grant_beyond_its_branch(db, settings):
    b1, b2, boss, local, clerk = await _world(db)
    app = make_app(db, settings)
    api = await token_client(app, db, local)
    grants = f"/api/v1/admin/users/{local.id}/grants"
    for body in ({"role": "admin"}, {"role": "admin", "branch_id": b2.id}, {"role": "clerk"}):
        resp = await api.post(grants, json=body)
        assert resp.status_code == 403, (body, resp.text)
        assert resp.json()["code"] == "forbidden"
    assert "every branch" in (await api.post(grants, json={"role": "admin"})).json()["detail"]
    assert await _grants(db, local.id) == {("admin", b1.id)}
    # Nor for someone else, nor by creating a user that holds it.
    resp = await api.post(
        f"/api/v1/admin/users/{clerk.id}/grants", json={"role": "manager", "branch_id": b2.id}
    )
    assert resp.status_code == 403
    resp = await api.post(
        "/api/v1/admin/users",
        json={
            "username": uniq("n"),
            "full_name": "N",
            "password": "long-enough-pw",
            "grants": [{"role": "admin"}],
        },
    )
    assert resp.status_code == 403
    # Within its branch it administers as before.
    resp = await api.post(
        f"/api/v1/admin/users/{clerk.id}/grants", json={"role": "manager", "branch_id": b1.id}
    )
    assert resp.status_code == 200, resp.text
    assert ("manager", b1.id) in await _grants(db, clerk.id)
    # And it cannot strip a chain-wide admin either.
    resp = await api.delete(f"/api/v1/admin/users/{boss.id}/grants/admin")
    assert resp.status_code == 403 and ("admin", None) in await _grants(db, boss.id)


async def test_only_a_global_admin_creates_global_admins(db, settings):
    _, _, boss, _, clerk = await _world(db)
    app = make_app(db, settings)
    api = await token_client(app, db, boss)
    resp = await api.post(f"/api/v1/admin/users/{clerk.id}/grants", json={"role": "admin"})
    assert resp.status_code == 200, resp.text
    assert ("admin", None) in await _grants(db, clerk.id)


async def test_grant_page_refuses_what_the_admin_does_not_hold(db, settings):
    b1, _, _, local, _ = await _world(db)
    app = make_app(db, settings)
    c = await browser_client(app, local.username)
    resp = await c.post(
        f"/admin/users/{local.id}/grants", data={"csrf_token": c.csrf, "role": "admin", "branch": "all"}
    )
    assert resp.status_code == 403 and "every branch" in resp.text
    assert await _grants(db, local.id) == {("admin", b1.id)}


async def test_nobody_mints_a_token_for_another_user(db, settings):
    _, _, boss, local, clerk = await _world(db)
    app = make_app(db, settings)
    for who in (local, boss):
        c = await browser_client(app, who.username)
        resp = await c.post(
            f"/api/v1/admin/users/{boss.id if who is local else clerk.id}/tokens",
            json={"name": "mine now"},
            headers={"X-CSRF-Token": c.csrf},
        )
        assert resp.status_code in (404, 405), resp.text
    async with db.read_sessionmaker() as s:
        minted = await s.scalar(select(ApiToken.id).where(ApiToken.name == "mine now"))
    assert minted is None


async def test_a_branch_admin_cannot_revoke_a_chain_wide_users_tokens(db, settings):
    _, _, boss, local, clerk = await _world(db)
    app = make_app(db, settings)
    async with db.sessionmaker.begin() as s:
        _, boss_token = await auth.create_token(s, actor=TEST_ACTOR, user_id=boss.id, name="b")
        _, clerk_token = await auth.create_token(s, actor=TEST_ACTOR, user_id=clerk.id, name="c")
    api = await token_client(app, db, local)
    resp = await api.delete(f"/api/v1/admin/users/{boss.id}/tokens/{boss_token.id}")
    assert resp.status_code == 403
    resp = await api.delete(f"/api/v1/admin/users/{clerk.id}/tokens/{clerk_token.id}")
    assert resp.status_code == 200 and resp.json()["revoked_at"]
