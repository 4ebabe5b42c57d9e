"""Resolving the caller in one indexed read per request.

A request's bearer token or session cookie is checked against the database every time (revoked,
expired, user inactive), in one query that also returns the user's `auth_version` and open shift.
What is expensive and rarely changes (the user's grants and names) is cached per process under
(kind, token hash, auth_version). Every use case that changes what a user may do (grant, revoke,
deactivate, password change or reset, vendor binding) bumps `users.auth_version` in its own
transaction, so the next request after the commit misses the cache and reads the grants anew:
no window, and nothing to broadcast between API processes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import casbin
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth.models import ApiToken, User, UserSession
from backroom.auth.principal import Principal, vendor_scope
from backroom.branches.models import Shift
from backroom.db.base import utcnow


async def bump_auth_version(session: AsyncSession, user_id: int) -> None:
    """Invalidate every cached principal of the user (as of this transaction's commit)."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(auth_version=User.auth_version + 1)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Identity:
    """The cached part of a principal: who the user is and what they hold."""

    user_id: int
    username: str
    full_name: str
    vendor_id: int | None
    grants: tuple[tuple[str, int | None], ...]
    timezone: str = "UTC"


@dataclass(frozen=True)
class Caller:
    """A resolved caller: the identity plus what is read fresh on every request."""

    identity: Identity
    via_token: bool
    shift_id: int | None
    csrf_token: str | None = None
    user_session_id: int | None = None

    def principal(self, enforcer: casbin.FastEnforcer, *, request_id: str | None) -> Principal:
        i = self.identity
        return Principal(
            user_id=i.user_id,
            username=i.username,
            full_name=i.full_name,
            grants=i.grants,
            enforcer=enforcer,
            vendor_id=i.vendor_id,
            request_id=request_id,
            shift_id=self.shift_id,
            via_token=self.via_token,
            timezone=i.timezone,
        )


def _open_shift():
    return (
        select(func.max(Shift.id))
        .where(Shift.user_id == User.id, Shift.status == "open")
        .correlate(User)
        .scalar_subquery()
    )


class PrincipalCache:
    """Per-process LRU of identities keyed on (kind, token hash, auth_version)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str, int], Identity] = OrderedDict()
        self.hits = self.misses = 0

    async def by_token(self, session: AsyncSession, token_hash: str) -> Caller | None:
        """The caller of a bearer token; None if it is unknown, revoked, expired or its user inactive."""
        row = (
            await session.execute(
                select(
                    ApiToken.user_id,
                    ApiToken.revoked_at,
                    ApiToken.expires_at,
                    User.is_active,
                    User.auth_version,
                    _open_shift(),
                )
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash)
            )
        ).first()
        if (
            row is None
            or row.revoked_at
            or (row.expires_at and row.expires_at <= utcnow())
            or not row.is_active
        ):
            return None
        identity = await self._identity(session, "token", token_hash, row.user_id, row.auth_version)
        return Caller(identity=identity, via_token=True, shift_id=row[5])

    async def by_session(self, session: AsyncSession, token_hash: str) -> Caller | None:
        """The caller of a sign-in session; None if it is unknown, revoked, expired or its user inactive."""
        row = (
            await session.execute(
                select(
                    UserSession.id,
                    UserSession.user_id,
                    UserSession.csrf_token,
                    UserSession.revoked_at,
                    UserSession.expires_at,
                    User.is_active,
                    User.auth_version,
                    _open_shift(),
                )
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == token_hash)
            )
        ).first()
        if row is None or row.revoked_at or row.expires_at <= utcnow() or not row.is_active:
            return None
        identity = await self._identity(session, "session", token_hash, row.user_id, row.auth_version)
        return Caller(
            identity=identity,
            via_token=False,
            shift_id=row[7],
            csrf_token=row.csrf_token,
            user_session_id=row.id,
        )

    async def _identity(
        self, session: AsyncSession, kind: str, token_hash: str, user_id: int, version: int
    ) -> Identity:
        key = (kind, token_hash, version)
        identity = self._entries.get(key)
        if identity is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return identity
        self.misses += 1
        from backroom.auth.service import user_grants, zone_of  # the service imports this module

        user = (
            await session.execute(
                select(User.username, User.full_name, User.vendor_id, User.timezone).where(User.id == user_id)
            )
        ).one()
        grants = await user_grants(session, user_id)
        identity = Identity(
            user_id,
            user.username,
            user.full_name,
            vendor_scope(user.vendor_id, grants),
            grants,
            await zone_of(session, user.timezone, grants),
        )
        self._entries[key] = identity
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return identity
