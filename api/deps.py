"""Request dependencies: the database session, the signed-in principal, permission checks."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.db.session import begin_read
from backroom.errors import AppError, Forbidden, Unauthorized
from backroom.settings import Settings
from backroom.starts import service as starts
from backroom.temporal import Connect

SESSION_COOKIE = "backroom_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Unauthorized):
    """Raised for UI pages; the handler turns it into a redirect to the sign-in page."""


class CsrfFailed(AppError):
    status, code, title = (
        403,
        "csrf_failed",
        "The form expired or did not come from Backroom. Reload and try again.",
    )


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _reads_only(request: Request) -> bool:
    return request.method in SAFE_METHODS or getattr(request.state, "reads_only", False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The unit of work of a request: one transaction, committed when the route returns and
    before the response is sent (the dependency is function-scoped), rolled back on error;
    then the workflow starts and signals the use case queued are dispatched (bounded: what
    does not go now, the worker's outbox poller delivers), and the signals nobody waits on
    just after the reply. GETs, and routes marked READS_ONLY, read only. A write request's
    transaction (on SQLite, its turn as the one writer) begins with the use case's first
    statement: who is calling is read before, on a ReadSession."""
    state = request.app.state
    maker = state.read_sessionmaker if _reads_only(request) else state.sessionmaker
    async with _transaction(request, maker) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Like get_session, but a writing transaction even for a GET (an audited download)."""
    async with _transaction(request, request.app.state.sessionmaker) as session:
        yield session


# A context manager, not a generator driven by `async for`: an error in the route must reach the
# `except` below at once (a generator left inside `async for` only rolled back when the garbage
# collector finalized it, after the response, its transaction open meanwhile).
@asynccontextmanager
async def _transaction(request: Request, maker) -> AsyncIterator[AsyncSession]:
    state = request.app.state
    async with maker() as session:
        try:
            if getattr(request.state, "reads_first", False):
                await begin_read(session)
            yield session
            if session.in_transaction():
                await session.commit()
        except BaseException:
            await session.rollback()
            starts.forget_queued(session)
            raise
        await state.outbox.dispatch_bounded(state.temporal.client, starts.take_queued(session))
        state.outbox.dispatch_after_reply(state.temporal.client, starts.take_later(session))


# Every route and page takes its session through these, so the commit lands before the response.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
_READER = "backroom.reader"  # key in session.info: a ReadSession of its own


async def get_read_session(request: Request, session: Session) -> AsyncIterator[AsyncSession]:
    """Reads a write request makes before its unit of work (the caller, a password check), on a
    read-only session of their own, so that they never hold the write transaction (on SQLite,
    the one writer's turn). A reading request's own Session serves. `done_reading` hands the
    connection back as soon as those reads are made."""
    if _reads_only(request):
        yield session
        return
    # Point reads: on PostgreSQL no BEGIN and ROLLBACK around the caller's one indexed read
    # (issue 17: two of the round trips every write request made before its own work).
    async with request.app.state.point_reads() as reader:
        reader.info[_READER] = True
        yield reader


async def done_reading(session: AsyncSession) -> None:
    """End a ReadSession's transaction if it is one of its own (not the request's Session)."""
    if session.info.get(_READER):
        await session.close()


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


def reads_only(request: Request) -> None:
    """Route dependency for a write that the workflow makes: the request itself only reads, then
    waits on a workflow Update whose activities write. Its session holds no write transaction
    (on SQLite that would keep the one write lock from those activities)."""
    request.state.reads_only = True


def reads_first(request: Request) -> None:
    """Route dependency for a use case that reads, waits on a workflow, ends its reads
    (`end_read`) and only then writes (checkout): its reads are a read transaction, so the
    request takes the write transaction once, for the write."""
    request.state.reads_first = True


# Route-level dependencies run before the session is opened.
READS_ONLY = Depends(reads_only)
READS_FIRST = Depends(reads_first)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


async def get_temporal(request: Request) -> Client:
    """The shared Temporal client; 503 (WorkflowServiceUnavailable) when it cannot be reached."""
    return await request.app.state.temporal.client()


def get_temporal_factory(request: Request) -> Connect:
    """Connects on first call: a route that may refuse the request first (not found, bad
    input) does not wait for, or fail on, an unreachable Temporal."""
    return request.app.state.temporal.client


def get_now(request: Request) -> datetime:
    """The request's clock: UTC now, unless the app was built with a pinned clock
    (`app.state.clock`; the dashboard benchmark reads seeded data "as of" its seed's day)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(UTC)


SettingsDep = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]
Temporal = Annotated[Client, Depends(get_temporal)]
TemporalFactory = Annotated[Connect, Depends(get_temporal_factory)]


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    """The client's address: the peer's, unless the peer is a proxy named in TRUSTED_PROXIES;
    then the nearest X-Forwarded-For hop that is not itself a trusted proxy. Pure."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(get_settings(request).trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid[:64]
    return request.state.request_id


async def current_principal(session: ReadSession, request: Request) -> Principal:
    """Resolve the caller: bearer token (programs) or session cookie (browser, CSRF-checked).
    One indexed read per request; grants come from the per-process cache, keyed on the user's
    auth_version (backroom.auth.principal_cache), so a revocation counts from the next request."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principals = request.app.state.principals
    caller = None
    authz = request.headers.get("authorization", "")
    if authz.lower().startswith("bearer "):
        caller = await principals.by_token(session, auth.token_hash(authz[7:].strip()))
        if caller is None:
            raise Unauthorized("The API token is invalid, expired or revoked.")
    else:
        token = request.cookies.get(SESSION_COOKIE)
        caller = await principals.by_session(session, auth.token_hash(token)) if token else None
        if caller:
            request.state.csrf_token = caller.csrf_token
            request.state.user_session_id = caller.user_session_id
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, caller.csrf_token)
    if caller is None:
        if is_api(request):
            raise Unauthorized("Sign in or send a bearer token.")
        raise SignInRequired()
    principal = caller.principal(request.app.state.enforcer, request_id=request_id(request))
    request.state.principal = principal
    await done_reading(session)
    return principal


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        sent = form.get("csrf_token")
    if not sent or not secrets.compare_digest(str(sent), expected):
        raise CsrfFailed()


def require(function: str, action: str) -> Any:
    """Route dependency: the caller must hold (function, action) in at least one branch.
    Record-level checks then use `principal.require(function, action, branch_id)`."""

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(function, action):
            raise Forbidden(f"You may not {action} {function}.", function=function, action=action)
        return principal

    dependency.permission = (function, action)  # read by the route-coverage test
    return Depends(dependency)


def public(request: Request) -> None:
    """Marks a route that needs no permission (sign-in, health, storefront)."""


public.is_public = True
PUBLIC = Depends(public)
