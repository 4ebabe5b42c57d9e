from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class User(IdMixin, Timestamps, Base):
    """A staff member (or a marketplace vendor's user). Passwords are argon2 hashes."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # A vendor user sees only records of this marketplace vendor.
    vendor_id: Mapped[int | None] = mapped_column(index=True)
    # Bumped by every change to what the user may do (grants, activity, password, vendor):
    # cached principals are keyed on it (backroom.auth.principal_cache).
    auth_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The IANA zone the user sees times in; None: the zone of their first branch.
    timezone: Mapped[str | None] = mapped_column(String(64))


class RoleGrant(IdMixin, Timestamps, Base):
    """A role held by a user in one branch, or in every branch when branch_id is null."""

    __tablename__ = "role_grants"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("user_id", "role", "branch_id", name="uq_role_grants_user_role_branch"),
    )


class UserSession(IdMixin, Base):
    """A browser sign-in. Only the token's SHA-256 is stored."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiToken(IdMixin, Base):
    """A bearer token for programs. Only the SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(IdMixin, Base):
    """A failed sign-in, kept to throttle guessing by user name and by address."""

    __tablename__ = "login_attempts"
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
