from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, text
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


class BranchHours(IdMixin, Timestamps, Base):
    """When a branch works on one weekday (0 = Monday), in minutes after local midnight. A
    weekday without a row is closed; a branch without any row works around the clock. The SLA
    clocks (complaints, after-sales) count only this working time (backroom/sla.py)."""

    __tablename__ = "branch_hours"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    weekday: Mapped[int]
    opens_min: Mapped[int]
    closes_min: Mapped[int]

    __table_args__ = (UniqueConstraint("branch_id", "weekday", name="uq_branch_hours_day"),)


class BranchHoliday(IdMixin, Timestamps, Base):
    """A day the branch is closed (its local date): the SLA clocks stand still."""

    __tablename__ = "branch_holidays"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120), default="")

    __table_args__ = (UniqueConstraint("branch_id", "day", name="uq_branch_holidays_day"),)
