from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class Branch(IdMixin, Timestamps, Base):
    """A shop or warehouse. Roles are granted per branch."""

    __tablename__ = "branches"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")


class ShiftStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Shift(IdMixin, Timestamps, Base):
    """A cashier's session at a branch, opened and closed by the cashier."""

    __tablename__ = "shifts"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ShiftStatus.OPEN)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    opening_float_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    closing_count_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # One open shift per cashier per branch.
        Index(
            "uq_shifts_open_per_user",
            "branch_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
