"""Users, role grants, sign-in sessions, API tokens and sign-in throttling."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import casbin
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import policies
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.delegation import check_grant, check_manage
from backroom.auth.errors import TokenCannotMint
from backroom.auth.models import ApiToken, LoginAttempt, RoleGrant, User, UserSession
from backroom.auth.principal import Principal, vendor_scope
from backroom.auth.principal_cache import bump_auth_version
from backroom.auth.schemas import TokenCreate, TokenCreated, TokenRead
from backroom.branches.models import Branch
from backroom.db.base import contains_text, utcnow
from backroom.errors import Conflict, Forbidden, InvalidInput, TooManyRequests, Unauthorized, not_found
from backroom.pagination import Page, paginate

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    """What is stored of a session or API token secret: its SHA-256."""
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
    """Create a user with role grants. Not idempotent: a taken user name is a Conflict.
    A user actor may only give grants it could grant (backroom.auth.delegation)."""
    for role, branch_id in grants:
        await _check_delegation(session, actor, role, branch_id, "grant")
    _check_new_password(password)
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
    """Grant a role in a branch (None: every branch). Idempotent. A user actor may grant only
    what it holds, where it holds it (backroom.auth.delegation); the system is not limited."""
    if role not in policies.ROLES:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    await _check_delegation(session, actor, role, branch_id, "grant")
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
    await bump_auth_version(session, user_id)
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
    must be left who can administer users). A user actor may revoke only what it could grant."""
    await _check_delegation(session, actor, role, branch_id, "revoke")
    if role == "admin" and actor.user_id == user_id:
        raise Conflict("You cannot revoke your own admin role; ask another admin.")
    cond = RoleGrant.branch_id.is_(None) if branch_id is None else RoleGrant.branch_id == branch_id
    res = await session.execute(
        delete(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.role == role, cond)
    )
    if res.rowcount:
        await bump_auth_version(session, user_id)
        await audit.record(
            session,
            actor=actor,
            action="role.revoke",
            entity_type="user",
            entity_id=user_id,
            branch_id=branch_id,
            before={"role": role, "branch_id": branch_id},
        )


async def _check_delegation(
    session: AsyncSession, actor: Actor, role: str, branch_id: int | None, verb: str
) -> None:
    """Refuse a grant or revocation the acting user could not make. Read-only."""
    if actor.type == "system":
        return
    check_grant(await _actor_grants(session, actor), role, branch_id, verb)


async def _actor_grants(session: AsyncSession, actor: Actor) -> tuple[tuple[str, int | None], ...]:
    return await user_grants(session, actor.user_id) if actor.user_id is not None else ()


async def user_grants(session: AsyncSession, user_id: int) -> tuple[tuple[str, int | None], ...]:
    rows = await session.execute(
        select(RoleGrant.role, RoleGrant.branch_id).where(RoleGrant.user_id == user_id)
    )
    return tuple(sorted(((r, b) for r, b in rows), key=lambda g: (g[0], g[1] or 0)))


def valid_zone(name: str) -> bool:
    """An IANA time zone this machine knows ("Europe/Berlin"). Pure."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def zone_of(session: AsyncSession, chosen: str | None, grants) -> str:
    """Where a user sees times: the zone they chose, else their first branch's (by id); a user
    of every branch (admin, auditor), the first branch's of the business; UTC before there is
    any branch. Read-only."""
    if chosen and valid_zone(chosen):
        return chosen
    branch_ids = sorted(b for _, b in grants if b is not None)
    first = select(Branch.timezone).order_by(Branch.id).limit(1)
    zone = await session.scalar(first.where(Branch.id == branch_ids[0]) if branch_ids else first)
    return zone if zone and valid_zone(zone) else "UTC"


async def set_timezone(session: AsyncSession, *, actor: Actor, user_id: int, timezone: str | None) -> User:
    """The zone a user sees times in (None: their branch's). Audited; takes effect on the next
    request (cached principals are keyed on the user's auth version). Idempotent."""
    if timezone and not valid_zone(timezone):
        raise InvalidInput("Choose a time zone from the list, such as Europe/Berlin.", field="timezone")
    user = await get_user(session, user_id)
    if user.timezone != (timezone or None):
        before = {"timezone": user.timezone}
        user.timezone = timezone or None
        await bump_auth_version(session, user_id)
        await audit.record(
            session,
            actor=actor,
            action="user.update",
            entity_type="user",
            entity_id=user_id,
            before=before,
            after={"timezone": user.timezone},
        )
    return user


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
        vendor_id=vendor_scope(user.vendor_id, grants),
        timezone=await zone_of(session, user.timezone, grants),
        **kw,
    )


@dataclass(frozen=True)
class Throttle:
    """How sign-in guessing is slowed. Failures count inside `window_seconds`. Past the free
    failures of a user name (from anywhere) or of a user name from one address, each further
    try waits twice as long as the one before (from `base_delay_seconds`, at most the window)
    after the latest failure. An address as a whole is stopped only past `per_address` failures,
    far above what a store's tills sharing one public address produce, so one person's typos
    never lock out the colleagues at that address."""

    per_user: int = 5
    per_pair: int = 3
    per_address: int = 100
    window_seconds: int = 900
    base_delay_seconds: int = 2

    @classmethod
    def of(cls, settings) -> Throttle:
        return cls(
            per_user=settings.login_max_failures,
            per_pair=settings.login_pair_failures,
            per_address=settings.login_address_failures,
            window_seconds=settings.login_window_seconds,
            base_delay_seconds=settings.login_base_delay_seconds,
        )

    def delay(self, failures: int, free: int) -> int:
        """Seconds to wait after the latest of `failures` failures when `free` cost nothing."""
        if failures < free:
            return 0
        return min(self.base_delay_seconds * 2 ** min(failures - free, 30), self.window_seconds)


async def _failures(session: AsyncSession, since: datetime, cond) -> tuple[int, datetime | None]:
    n, last = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(LoginAttempt.at >= since, cond)
        )
    ).one()
    if last is not None and last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=UTC)
    return n, last


async def check_throttle(session: AsyncSession, *, username: str, address: str, throttle: Throttle) -> None:
    """Refuse (429 with the seconds to wait) while the user name, the user name from this address,
    or this address as a whole is being throttled. Read-only."""
    now = utcnow()
    since = now - timedelta(seconds=throttle.window_seconds)
    by_user = LoginAttempt.username == username
    by_address = LoginAttempt.address == address
    waits = []
    for cond, free in ((by_user, throttle.per_user), (by_user & by_address, throttle.per_pair)):
        n, last = await _failures(session, since, cond)
        if n and (delay := throttle.delay(n, free)):
            waits.append(last + timedelta(seconds=delay) - now)
    n, last = await _failures(session, since, by_address)
    if n >= throttle.per_address:
        waits.append(last + timedelta(seconds=throttle.window_seconds) - now)
    wait = max(waits, default=timedelta(0)).total_seconds()
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {_in_words(seconds)}.", retry_after=seconds
        )


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str,
    throttle: Throttle = Throttle(),
    reader: AsyncSession | None = None,
) -> User:
    """Check a user name and password, throttled (see Throttle). A failure is recorded (and
    audited) in the caller's transaction, which must commit it. A deactivated user fails like
    a wrong password. The checks read on `reader` when given (a read-only session), so that
    the caller's write transaction begins only to record the outcome, not for the password's
    hashing."""
    reader = reader or session
    await check_throttle(reader, username=username, address=address, throttle=throttle)
    user = await reader.scalar(select(User).where(User.username == username))
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
        await session.execute(update(User).where(User.id == user.id).values(password_hash=user.password_hash))
    return user


async def start_session(
    session: AsyncSession, *, user: User, hours: int, address: str
) -> tuple[str, UserSession]:
    """Open a browser session; returns the cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=token_hash(token),
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
    row = await session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if not row or row.revoked_at or row.expires_at <= utcnow():
        return None
    user = await session.get(User, row.user_id)
    if not user or not user.is_active:
        return None
    return user, row


async def end_session(session: AsyncSession, *, token: str, actor: Actor) -> None:
    """Sign out. Idempotent."""
    row = await session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
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
        token_hash=token_hash(secret),
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
    session: AsyncSession, *, actor: Actor, body: TokenCreate, via_token: bool
) -> TokenCreated:
    """Create a token acting as the signed-in user `actor`, never as anyone else (a token for
    another user would carry that user's rights, which may exceed the actor's); the answer
    carries the secret, once. Not idempotent: each call makes a new secret. Refused to a request
    made with an API token: a leaked token must not be able to mint successors that outlive its
    revocation."""
    if actor.type != "user" or actor.user_id is None:
        raise Forbidden("Only a signed-in user creates API tokens, for themselves.")
    if via_token:
        raise TokenCannotMint(
            "Create API tokens while signed in (the API tokens page), not with another token."
        )
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret, row = await create_token(
        session, actor=actor, user_id=actor.user_id, name=body.name, expires_at=expires
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
    """Revoke one of the user's tokens. Idempotent. Another user's token only for an actor who
    could have given that user every grant they hold (a branch admin cannot cut off a chain-wide one)."""
    row = await session.get(ApiToken, token_id)
    if not row or row.user_id != user_id:
        raise not_found("API token", token_id)
    if actor.type != "system" and actor.user_id != user_id:
        check_manage(await _actor_grants(session, actor), await user_grants(session, user_id))
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
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    now = utcnow()
    if not row or row.revoked_at or (row.expires_at and row.expires_at <= now):
        return None
    user = await session.get(User, row.user_id)
    return user if user and user.is_active else None


def users_query(*, search: str | None = None) -> Select:
    """Users, optionally those whose user name or full name contains `search`."""
    stmt = select(User)
    if search:
        stmt = stmt.where(contains_text(User.username, search) | contains_text(User.full_name, search))
    return stmt


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if not user:
        raise not_found("User", user_id)
    return user


async def _end_access(
    session: AsyncSession, user_id: int, *, keep_session_id: int | None = None, tokens: bool = True
) -> int:
    """Revoke the user's open sign-in sessions (but `keep_session_id`) and, with `tokens`, their
    API tokens. Returns how many ended."""
    now = utcnow()
    ended = await session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.id != (keep_session_id or 0),
        )
        .values(revoked_at=now)
    )
    count = ended.rowcount
    if tokens:
        revoked = await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        count += revoked.rowcount
    return count


async def set_active(session: AsyncSession, *, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate a user (their sessions and API tokens end at once; sign-in is refused) or
    let them sign in again (old sessions and tokens stay revoked). Idempotent. Nobody
    deactivates themselves (someone must be left who can undo it)."""
    user = await get_user(session, user_id)
    if not active and actor.user_id == user_id:
        raise Conflict("You cannot deactivate yourself; ask another admin.")
    if user.is_active == active:
        return user
    user.is_active = active
    ended = 0 if active else await _end_access(session, user_id)
    await bump_auth_version(session, user_id)
    await audit.record(
        session,
        actor=actor,
        action="user.reactivate" if active else "user.deactivate",
        entity_type="user",
        entity_id=user_id,
        before={"is_active": not active},
        after={"is_active": active, "access_ended": ended},
    )
    return user


def _check_new_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("Password must be at least 8 characters.", field="password")


async def reset_password(session: AsyncSession, *, actor: Actor, user_id: int, password: str) -> User:
    """An admin sets a new password for a user (who forgot theirs); every session and API
    token of that user ends, so whoever knew the old one is out. Not idempotent."""
    _check_new_password(password)
    user = await get_user(session, user_id)
    user.password_hash = hash_password(password)
    ended = await _end_access(session, user_id)
    await bump_auth_version(session, user_id)
    await audit.record(
        session,
        actor=actor,
        action="user.password_reset",
        entity_type="user",
        entity_id=user_id,
        after={"access_ended": ended},
    )
    return user


async def change_own_password(
    session: AsyncSession, *, actor: Actor, user_id: int, current: str, new: str, session_id: int | None
) -> User:
    """A user changes their own password after typing the current one; their other sessions
    end (the one in use, `session_id`, stays), API tokens stay. Not idempotent."""
    user = await get_user(session, user_id)
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("The current password is not right.", field="current") from None
    _check_new_password(new)
    if new == current:
        raise InvalidInput("Choose a password different from the current one.", field="new")
    user.password_hash = hash_password(new)
    others = await _end_access(session, user_id, keep_session_id=session_id, tokens=False)
    await bump_auth_version(session, user_id)
    await audit.record(
        session,
        actor=actor,
        action="user.password_change",
        entity_type="user",
        entity_id=user_id,
        after={"other_sessions_ended": others},
    )
    return user


async def grants_by_user(
    session: AsyncSession, user_ids: list[int]
) -> dict[int, list[tuple[str, int | None]]]:
    """Role grants of several users at once: {user id: [(role, branch id or None)]}. Read-only."""
    out: dict[int, list[tuple[str, int | None]]] = {uid: [] for uid in user_ids}
    rows = await session.execute(
        select(RoleGrant.user_id, RoleGrant.role, RoleGrant.branch_id)
        .where(RoleGrant.user_id.in_(user_ids or [-1]))
        .order_by(RoleGrant.role, RoleGrant.branch_id)
    )
    for uid, role, branch_id in rows:
        out[uid].append((role, branch_id))
    return out


async def user_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """{id: full name} of the given users, for pages that name who holds a record. Read-only."""
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))).all())
