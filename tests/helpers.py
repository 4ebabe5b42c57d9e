"""Plain test-data helpers and clients for the app (no fixtures hidden here)."""

from __future__ import annotations

import re
import socket
import uuid

import httpx

from api.app import create_app
from backroom.audit.context import Actor
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.branches.models import Branch
from backroom.branches.service import ensure_branch

TEST_ACTOR = Actor.system("test")
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    """A free TCP port on loopback, for a server a test or benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uniq(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def create_branch(session, **kw) -> Branch:
    code = kw.pop("code", uniq("B").upper()[:12])
    return await ensure_branch(
        session, actor=TEST_ACTOR, code=code, name=kw.pop("name", f"Branch {code}"), **kw
    )


async def create_user(
    session, *, grants: list[tuple[str, int | None]], username: str | None = None, **kw
) -> User:
    return await auth.create_user(
        session,
        actor=TEST_ACTOR,
        username=username or uniq("u"),
        full_name=kw.pop("full_name", "Test User"),
        password=PASSWORD,
        grants=grants,
        **kw,
    )


def make_app(db, settings, temporal_client=None):
    return create_app(
        settings,
        sessionmaker=db.sessionmaker,
        read_sessionmaker=db.read_sessionmaker,
        temporal_client=temporal_client,
    )


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


async def token_client(app, db, user: User) -> httpx.AsyncClient:
    """An API client authenticated with a fresh bearer token for `user`."""
    async with db.sessionmaker.begin() as session:
        secret, _ = await auth.create_token(session, actor=TEST_ACTOR, user_id=user.id, name="test")
    client = client_for(app)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


async def browser_client(app, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A UI client signed in through the sign-in form; `client.csrf` holds the form token."""
    client = client_for(app)
    resp = await client.post("/login", data={"username": username, "password": password, "next": "/"})
    assert resp.status_code == 303, resp.text
    page = await client.get("/")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    client.csrf = match.group(1) if match else None
    return client
