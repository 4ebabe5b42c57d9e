"""Sign-in hardening: argon2 hashes, cookie flags, CSRF on UI posts, throttling, sign-out."""

from __future__ import annotations

import random

import httpx
from sqlalchemy import func, select

from api.deps import SESSION_COOKIE
from backroom.audit.models import AuditEvent
from backroom.auth.models import User
from backroom.branches.models import Shift
from tests.helpers import PASSWORD, browser_client, create_branch, create_user, make_app, sign_in


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


async def test_five_failures_throttle_that_name_and_that_address_only(db, settings):
    _, victim = await _clerk(db)
    _, bystander = await _clerk(db)
    app = make_app(db, settings)
    attacker_addr = random_address()
    attacker = client_from(app, attacker_addr)
    for _ in range(settings.login_max_failures):
        resp = await sign_in(attacker, victim.username, "guess-guess")
        assert resp.status_code == 401
    # Now even the right password is refused: for that user name from anywhere...
    resp = await sign_in(client_from(app, random_address()), victim.username, PASSWORD)
    assert resp.status_code == 429 and "Too many failed sign-ins" in resp.text
    assert int(resp.headers["retry-after"]) == settings.login_window_seconds
    # ...and for anyone from that address.
    resp = await sign_in(attacker, bystander.username, PASSWORD)
    assert resp.status_code == 429
    # Someone else from elsewhere is not affected.
    resp = await sign_in(client_from(app, random_address()), bystander.username, PASSWORD)
    assert resp.status_code == 303


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
