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
    # Set at close: the float plus the shift's cash movements, and counted minus expected
    # (positive over, negative short).
    expected_cash_minor: Mapped[int | None] = mapped_column(BigInteger)
    variance_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # One open shift per cashier, whatever the branch: one drawer at a time.
        Index(
            "uq_shifts_open_per_cashier",
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


class CashKind(StrEnum):
    CREDIT_PAYMENT = "credit_payment"  # a customer paid their credit account in cash
    PAY_IN = "pay_in"  # cash put in the drawer (change from the safe)
    PAY_OUT = "pay_out"  # cash taken out (petty expenses, to the safe); over a threshold, approved first


class CashMovement(IdMixin, Timestamps, Base):
    """Cash into (+) or out of (-) the drawer of an open shift; never updated or deleted.
    `reference` makes each recording idempotent."""

    __tablename__ = "cash_movements"
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[CashKind] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    at: Mapped[datetime]
