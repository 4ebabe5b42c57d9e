"""Users, role grants, sign-in sessions, API tokens and sign-in throttling."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import casbin
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import policies
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.errors import TokenCannotMint
from backroom.auth.models import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from backroom.auth.principal import NO_VENDOR, Principal
from backroom.auth.schemas import TokenCreate, TokenCreated, TokenRead
from backroom.branches.models import Branch
from backroom.db.base import utcnow
from backroom.errors import Conflict, InvalidInput, TooManyRequests, Unauthorized, not_found
from backroom.pagination import Page, paginate

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(
    session: AsyncSession,
    *,
    actor: Actor,
    username: str,
    full_name: str,
    password: str,
    email: str | None = None,
    grants: list[tuple[str, int | None]] = (),
    vendor_id: int | None = None,
) -> User:
    """Create a user with role grants. Not idempotent: a taken user name is a Conflict."""
    if len(password) < 8:
        raise InvalidInput("Password must be at least 8 characters.", field="password")
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"User name {username!r} is taken.")
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password),
        vendor_id=vendor_id,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after=audit.snapshot(user),
    )
    for role, branch_id in grants:
        await grant_role(session, actor=actor, user_id=user.id, role=role, branch_id=branch_id)
    return user


async def grant_role(
    session: AsyncSession, *, actor: Actor, user_id: int, role: str, branch_id: int | None
) -> RoleGrant:
    """Grant a role in a branch (None: every branch). Idempotent."""
    if role not in policies.ROLES:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if branch_id is not None and await session.get(Branch, branch_id) is None:
        raise not_found("Branch", branch_id)
    existing = await session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id,
            RoleGrant.role == role,
            RoleGrant.branch_id.is_(None) if branch_id is None else RoleGrant.branch_id == branch_id,
        )
    )
    if existing:
        return existing
    grant = RoleGrant(user_id=user_id, role=role, branch_id=branch_id, granted_by_id=actor.user_id)
    session.add(grant)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="role.grant",
        entity_type="user",
        entity_id=user_id,
        branch_id=branch_id,
        after={"role": role, "branch_id": branch_id},
    )
    return grant


async def revoke_role(
    session: AsyncSession, *, actor: Actor, user_id: int, role: str, branch_id: int | None
) -> None:
    """Remove a grant. Idempotent. Admins cannot take away their own admin role (someone
    must be left who can administer users)."""
    if role == "admin" and actor.user_id == user_id:
        raise Conflict("You cannot revoke your own admin role; ask another admin.")
    cond = RoleGrant.branch_id.is_(None) if branch_id is None else RoleGrant.branch_id == branch_id
    res = await session.execute(
        delete(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.role == role, cond)
    )
    if res.rowcount:
        await audit.record(
            session,
            actor=actor,
            action="role.revoke",
            entity_type="user",
            entity_id=user_id,
            branch_id=branch_id,
            before={"role": role, "branch_id": branch_id},
        )


async def user_grants(session: AsyncSession, user_id: int) -> tuple[tuple[str, int | None], ...]:
    rows = await session.execute(
        select(RoleGrant.role, RoleGrant.branch_id).where(RoleGrant.user_id == user_id)
    )
    return tuple(sorted(((r, b) for r, b in rows), key=lambda g: (g[0], g[1] or 0)))


async def all_grants(session: AsyncSession) -> list[tuple[int, str, int | None]]:
    rows = await session.execute(select(RoleGrant.user_id, RoleGrant.role, RoleGrant.branch_id))
    return [tuple(r) for r in rows]


async def principal_for(session: AsyncSession, user: User, enforcer: casbin.FastEnforcer, **kw) -> Principal:
    grants = await user_grants(session, user.id)
    return Principal(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        grants=grants,
        enforcer=enforcer,
        vendor_id=user.vendor_id
        if user.vendor_id is not None
        else (NO_VENDOR if any(role == "vendor" for role, _ in grants) else None),
        **kw,
    )


async def check_throttle(
    session: AsyncSession, *, username: str, address: str, max_failures: int, window_seconds: int
) -> None:
    since = utcnow() - timedelta(seconds=window_seconds)
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.at >= since, (LoginAttempt.username == username) | (LoginAttempt.address == address)
        )
    )
    if failures >= max_failures:
        raise TooManyRequests(
            "Too many failed sign-ins. Try again in a few minutes.", retry_after=window_seconds
        )


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str,
    max_failures: int = 5,
    window_seconds: int = 900,
) -> User:
    """Check a user name and password, throttled per user name and per address.
    A failure is recorded (and audited) in the caller's transaction, which must commit it."""
    await check_throttle(
        session, username=username, address=address, max_failures=max_failures, window_seconds=window_seconds
    )
    user = await session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.is_active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        session.add(LoginAttempt(username=username[:64], address=address[:64], at=utcnow()))
        await audit.record(
            session,
            actor=Actor.system("sign-in"),
            action="auth.sign_in_failed",
            entity_type="user",
            entity_id=user.id if user else username[:64],
            after={"address": address},
        )
        raise Unauthorized("Wrong user name or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def start_session(
    session: AsyncSession, *, user: User, hours: int, address: str
) -> tuple[str, UserSession]:
    """Open a browser session; returns the cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=_sha(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=Actor.user(user.id, user.full_name),
        action="auth.sign_in",
        entity_type="user",
        entity_id=user.id,
        after={"address": address, "session_id": row.id},
    )
    return token, row


async def resolve_session(session: AsyncSession, token: str) -> tuple[User, UserSession] | None:
    row = await session.scalar(select(UserSession).where(UserSession.token_hash == _sha(token)))
    if not row or row.revoked_at or row.expires_at <= utcnow():
        return None
    user = await session.get(User, row.user_id)
    if not user or not user.is_active:
        return None
    return user, row


async def end_session(session: AsyncSession, *, token: str, actor: Actor) -> None:
    """Sign out. Idempotent."""
    row = await session.scalar(select(UserSession).where(UserSession.token_hash == _sha(token)))
    if row and not row.revoked_at:
        row.revoked_at = utcnow()
        await audit.record(
            session, actor=actor, action="auth.sign_out", entity_type="user", entity_id=row.user_id
        )


async def create_token(
    session: AsyncSession, *, actor: Actor, user_id: int, name: str, expires_at: datetime | None = None
) -> tuple[str, ApiToken]:
    """Create a bearer token; the secret is returned once and never stored."""
    secret = "brk_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user_id,
        name=name,
        prefix=secret[:10],
        token_hash=_sha(secret),
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=row.id,
        after={"name": name, "prefix": row.prefix, "user_id": user_id},
    )
    return secret, row


async def issue_token(
    session: AsyncSession, *, actor: Actor, user_id: int, body: TokenCreate, via_token: bool
) -> TokenCreated:
    """Create a token for `user_id`; the answer carries the secret, once. Not idempotent: each
    call makes a new secret. Refused to a request made with an API token: a leaked token must
    not be able to mint successors that outlive its revocation."""
    if via_token:
        raise TokenCannotMint(
            "Create API tokens while signed in (the API tokens page), not with another token."
        )
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, row = await create_token(
        session, actor=actor, user_id=user_id, name=body.name, expires_at=expires
    )
    return TokenCreated(secret=secret, **TokenRead.model_validate(row).model_dump())


async def tokens_page(session: AsyncSession, *, user_id: int, limit: int, cursor: str | None) -> Page:
    """The user's tokens, newest first, keyset-paged. Read-only."""
    return await paginate(
        session,
        select(ApiToken).where(ApiToken.user_id == user_id),
        sort_col=ApiToken.id,
        id_col=ApiToken.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


async def list_tokens(session: AsyncSession, *, user_id: int) -> list[ApiToken]:
    rows = await session.execute(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return list(rows.scalars())


async def revoke_token(session: AsyncSession, *, actor: Actor, user_id: int, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens. Idempotent."""
    row = await session.get(ApiToken, token_id)
    if not row or row.user_id != user_id:
        raise not_found("API token", token_id)
    if not row.revoked_at:
        row.revoked_at = utcnow()
        await audit.record(
            session,
            actor=actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=row.id,
            after={"revoked_at": row.revoked_at},
        )
    return row


async def resolve_token(session: AsyncSession, secret: str) -> User | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha(secret)))
    now = utcnow()
    if not row or row.revoked_at or (row.expires_at and row.expires_at <= now):
        return None
    user = await session.get(User, row.user_id)
    return user if user and user.is_active else None


def users_query(*, search: str | None = None) -> Select:
    """Users, optionally those whose user name or full name contains `search`."""
    stmt = select(User)
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.full_name).like(like))
    return stmt


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if not user:
        raise not_found("User", user_id)
    return user
