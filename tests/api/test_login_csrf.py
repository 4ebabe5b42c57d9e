"""Issue 16, defect 9: the sign-in form carries a CSRF token, and X-Forwarded-For names the
client only when it comes from a configured proxy (TRUSTED_PROXIES, none by default)."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import SESSION_COOKIE
from api.ui.auth import LOGIN_CSRF_COOKIE
from backroom import cli
from backroom.auth.models import LoginAttempt, UserSession
from backroom.settings import Settings
from tests.helpers import PASSWORD, create_branch, create_user, make_app, sign_in, uniq


def client_from(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="https://testserver"
    )


async def _user(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        return await create_user(s, grants=[("clerk", b.id)])


async def _sessions(db, user_id) -> int:
    async with db.read_sessionmaker() as s:
        return len((await s.execute(select(UserSession.id).where(UserSession.user_id == user_id))).all())


async def test_sign_in_page_sets_a_token_in_the_form_and_a_strict_cookie(db, settings):
    app = make_app(db, settings)
    page = await client_from(app, "10.0.0.1").get("/login")
    field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_CSRF_COOKIE}={field};")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "secure" in flags
    assert flags["samesite"].lower() == "samesite=strict" and flags["path"] == "Path=/login"


async def test_a_sign_in_post_without_the_pages_token_is_refused(db, settings):
    user = await _user(db)
    app = make_app(db, settings)
    form = {"username": user.username, "password": PASSWORD, "next": "/"}
    # A cross-site form: no token, or the attacker's own token without the victim's cookie.
    attacker = client_from(app, "10.0.0.2")
    own = re.search(r'name="csrf_token" value="([^"]+)"', (await attacker.get("/login")).text)[1]
    for data, cookies in ((form, {}), ({**form, "csrf_token": own}, {}), ({**form, "csrf_token": "x"}, None)):
        victim = client_from(app, "10.0.0.3")
        if cookies is None:  # the victim has a sign-in page open: its cookie, a different token
            await victim.get("/login")
        resp = await victim.post("/login", data=data)
        assert resp.status_code == 403 and "csrf_failed" in resp.text, resp.text[:200]
        assert SESSION_COOKIE not in resp.cookies
    assert await _sessions(db, user.id) == 0
    # The form as the page served it signs in.
    resp = await sign_in(client_from(app, "10.0.0.3"), user.username, PASSWORD, next="/")
    assert resp.status_code == 303 and await _sessions(db, user.id) == 1


async def _failed_from(db, app, peer: str, forwarded: str | None) -> str:
    """Fail a sign-in from `peer` with that X-Forwarded-For; the address it was counted against."""
    name = uniq("nobody")
    client = client_from(app, peer)
    if forwarded:
        client.headers["X-Forwarded-For"] = forwarded
    assert (await sign_in(client, name, "wrong-password")).status_code == 401
    async with db.read_sessionmaker() as s:
        return await s.scalar(select(LoginAttempt.address).where(LoginAttempt.username == name))


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(db, settings):
    app = make_app(db, settings)  # TRUSTED_PROXIES unset
    assert await _failed_from(db, app, "127.0.0.1", "203.0.113.7") == "127.0.0.1"
    trusting = make_app(db, settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"}))
    assert await _failed_from(db, trusting, "127.0.0.1", "203.0.113.7") == "203.0.113.7"
    # The nearest hop that is not a trusted proxy: what the client wrote before it is ignored.
    assert (
        await _failed_from(db, trusting, "127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3") == "203.0.113.7"
    )
    # From anyone else the header is the client's own claim.
    assert await _failed_from(db, trusting, "192.0.2.9", "203.0.113.7") == "192.0.2.9"
    assert await _failed_from(db, trusting, "127.0.0.1", None) == "127.0.0.1"


def test_trusted_proxies_must_be_addresses():
    assert Settings(TRUSTED_PROXIES="10.0.0.1, fd00::/8").trusted_proxies
    with pytest.raises(ValidationError):
        Settings(TRUSTED_PROXIES="proxy.local")


def test_the_api_server_does_not_believe_forwarded_headers_itself(monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    assert cli.main(["api", "--host", "127.0.0.1", "--port", "8999"]) == 0
    assert seen["proxy_headers"] is False
