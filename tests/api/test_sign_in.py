"""Sign-in hardening: argon2 hashes, cookie flags, CSRF on UI posts, throttling, sign-out."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from api.deps import SESSION_COOKIE
from backroom.audit.models import AuditEvent
from backroom.auth.models import LoginAttempt, User
from backroom.branches.models import Shift
from backroom.db.base import utcnow
from tests.helpers import (
    PASSWORD,
    browser_client,
    create_branch,
    create_user,
    make_app,
    sign_in,
    token_client,
    uniq,
)


def client_from(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="https://testserver"
    )


def random_address() -> str:
    return "10." + ".".join(str(random.randint(1, 254)) for _ in range(3))


async def chain_length(db) -> int:
    async with db.read_sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(AuditEvent))


async def _clerk(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        return b, await create_user(s, grants=[("clerk", b.id)])


async def test_passwords_are_stored_as_argon2id_hashes(db, settings):
    _, user = await _clerk(db)
    async with db.read_sessionmaker() as s:
        stored = await s.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    app = make_app(db, settings)
    resp = await sign_in(client_from(app, random_address()), user.username, PASSWORD + "x")
    assert resp.status_code == 401 and "Wrong user name or password" in resp.text
    assert SESSION_COOKIE not in resp.cookies


async def test_session_cookie_is_httponly_secure_samesite_lax(db, settings):
    _, user = await _clerk(db)
    app = make_app(db, settings)
    resp = await sign_in(client_from(app, random_address()), user.username, PASSWORD, next="/")
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "secure" in flags
    assert flags["samesite"].lower() == "samesite=lax" and flags["path"] == "Path=/"


async def test_ui_post_without_or_with_wrong_csrf_token_is_refused_and_changes_nothing(db, settings):
    branch, user = await _clerk(db)
    app = make_app(db, settings)
    c = await browser_client(app, user.username)
    before = await chain_length(db)
    form = {"branch_id": str(branch.id), "opening_float": "10.00"}
    for token in (None, "forged-" + c.csrf[7:], ""):
        data = form if token is None else {**form, "csrf_token": token}
        resp = await c.post("/shifts/open", data=data)
        assert resp.status_code == 403 and "csrf_failed" in resp.text
    resp = await c.post("/shifts/open", json=form, headers={"X-CSRF-Token": "nope"})
    assert resp.status_code == 403
    async with db.read_sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Shift).where(Shift.user_id == user.id)) == 0
    assert await chain_length(db) == before
    # The same form with the right token goes through.
    assert (await c.post("/shifts/open", data={**form, "csrf_token": c.csrf})).status_code == 303


async def _backdate_failures(db, username: str, seconds: int) -> None:
    """Move the user name's recorded failures into the past (time passing, without sleeping)."""
    async with db.sessionmaker.begin() as s:
        for attempt in await s.scalars(select(LoginAttempt).where(LoginAttempt.username == username)):
            attempt.at -= timedelta(seconds=seconds)


async def test_wrong_passwords_slow_that_user_not_colleagues_at_the_same_address(db, settings):
    """A store's tills share one public address: one person's wrong passwords slow that person
    (more with each further failure) and never lock out a colleague at the same address."""
    settings.login_base_delay_seconds = base = 60
    _, victim = await _clerk(db)
    _, colleague = await _clerk(db)
    app = make_app(db, settings)
    store = client_from(app, random_address())
    for _ in range(settings.login_pair_failures):
        resp = await sign_in(store, victim.username, "guess-guess")
        assert resp.status_code == 401
    # The next try from there waits, even with the right password; the wait is said in words.
    resp = await sign_in(store, victim.username, PASSWORD)
    assert resp.status_code == 429 and "Try again in" in resp.text
    assert 0 < int(resp.headers["retry-after"]) <= base
    # A colleague at the same address signs in at once.
    resp = await sign_in(store, colleague.username, PASSWORD)
    assert resp.status_code == 303
    # Each further failure doubles the wait.
    await _backdate_failures(db, victim.username, base + 1)
    resp = await sign_in(store, victim.username, "guess-again")
    assert resp.status_code == 401
    resp = await sign_in(store, victim.username, PASSWORD)
    assert resp.status_code == 429 and base < int(resp.headers["retry-after"]) <= 2 * base
    # Once the wait is over, the right password works.
    await _backdate_failures(db, victim.username, 2 * base + 1)
    resp = await sign_in(store, victim.username, PASSWORD)
    assert resp.status_code == 303


async def test_guesses_at_one_name_from_many_addresses_are_slowed_too(db, settings):
    _, victim = await _clerk(db)
    app = make_app(db, settings)
    for _ in range(settings.login_max_failures):  # a new address each time: no pair is throttled
        resp = await sign_in(client_from(app, random_address()), victim.username, "guess-guess")
        assert resp.status_code == 401
    resp = await sign_in(client_from(app, random_address()), victim.username, PASSWORD)
    assert resp.status_code == 429


async def test_an_address_is_stopped_only_far_above_normal_use(db, settings):
    _, user = await _clerk(db)
    app = make_app(db, settings)
    address = random_address()
    async with db.sessionmaker.begin() as s:  # a spray over many names, as recorded failures
        now = utcnow()
        s.add_all(
            LoginAttempt(username=f"spray-{i}-{uniq()}", address=address, at=now)
            for i in range(settings.login_address_failures - 1)
        )
    resp = await sign_in(client_from(app, address), user.username, PASSWORD)
    assert resp.status_code == 303  # 99 failures from a till's address: still fine
    resp = await sign_in(client_from(app, address), "nobody-" + uniq(), "x")
    assert resp.status_code == 401
    resp = await sign_in(client_from(app, address), user.username, PASSWORD)
    assert resp.status_code == 429


async def test_sign_out_revokes_the_session(db, settings):
    _, user = await _clerk(db)
    app = make_app(db, settings)
    c = await browser_client(app, user.username)
    stolen = c.cookies[SESSION_COOKIE]
    resp = await c.post("/logout", data={"csrf_token": c.csrf})
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    replay = client_from(app, random_address())
    replay.cookies.set(SESSION_COOKIE, stolen)
    page = await replay.get("/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert (await replay.get("/api/v1/tokens")).status_code == 401


async def test_deactivated_user_is_signed_out_everywhere_at_once(db, settings):
    _, user = await _clerk(db)
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    app = make_app(db, settings)
    till = await browser_client(app, user.username)
    program = await token_client(app, db, user)
    assert (await till.get("/")).status_code == 200
    assert (await program.get("/api/v1/tokens")).status_code == 200
    boss = await browser_client(app, admin.username)
    resp = await boss.post(f"/admin/users/{user.id}/deactivate", data={"csrf_token": boss.csrf})
    assert resp.status_code == 303
    page = await till.get("/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert (await program.get("/api/v1/tokens")).status_code == 401
    resp = await sign_in(client_from(app, random_address()), user.username, PASSWORD)
    assert resp.status_code == 401
    # An admin cannot lock themselves out.
    resp = await boss.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": boss.csrf})
    assert resp.status_code == 409
    # Reactivated, the user signs in again; the old session and token stay ended.
    resp = await boss.post(f"/admin/users/{user.id}/reactivate", data={"csrf_token": boss.csrf})
    assert resp.status_code == 303
    assert (await till.get("/")).status_code == 303 and (
        await program.get("/api/v1/tokens")
    ).status_code == 401
    assert (await browser_client(app, user.username)).csrf
    async with db.read_sessionmaker() as s:
        actions = set(
            await s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id)
                )
            )
        )
    assert {"user.deactivate", "user.reactivate"} <= actions


async def test_admin_resets_a_password_and_users_change_their_own(db, settings):
    _, user = await _clerk(db)
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    app = make_app(db, settings)
    old_session = await browser_client(app, user.username)
    boss = await browser_client(app, admin.username)
    resp = await boss.post(
        f"/admin/users/{user.id}/password", data={"csrf_token": boss.csrf, "password": "short"}
    )
    assert resp.status_code == 422 and "at least 8 characters" in resp.text
    resp = await boss.post(
        f"/admin/users/{user.id}/password", data={"csrf_token": boss.csrf, "password": "temporary-123"}
    )
    assert resp.status_code == 303
    assert (await old_session.get("/")).status_code == 303  # whoever knew the old one is out
    mine = await browser_client(app, user.username, "temporary-123")
    other_till = await browser_client(app, user.username, "temporary-123")
    resp = await mine.post(
        "/account/password", data={"csrf_token": mine.csrf, "current": "wrong-one", "new": "my-own-secret"}
    )
    assert resp.status_code == 422 and "current password is not right" in resp.text
    resp = await mine.post(
        "/account/password",
        data={"csrf_token": mine.csrf, "current": "temporary-123", "new": "my-own-secret"},
    )
    assert resp.status_code == 303
    assert (await mine.get("/")).status_code == 200  # this sign-in stays
    assert (await other_till.get("/")).status_code == 303  # the others end
    assert (await browser_client(app, user.username, "my-own-secret")).csrf


async def test_users_list_shows_each_users_roles_per_branch(db, settings):
    async with db.sessionmaker.begin() as s:
        north, south = await create_branch(s), await create_branch(s)
        admin = await create_user(s, grants=[("admin", None)])
        user = await create_user(s, grants=[("clerk", north.id), ("manager", south.id)])
    app = make_app(db, settings)
    boss = await browser_client(app, admin.username)
    page = await boss.get("/admin/users", params={"q": user.username})
    row = re.search(rf"<tr><td><a href=\"/admin/users/{user.id}\">.*?</tr>", page.text, re.S).group(0)
    assert f"clerk in {north.name}" in row and f"manager in {south.name}" in row
