"""Targets: a manager's goal for one catalog measure in one branch for one period."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class TargetStatus(StrEnum):
    ACTIVE = "active"  # `value` is in force (a pending change may wait beside it)
    PENDING = "pending"  # no value in force yet: the first value waits for approval
    REJECTED = "rejected"  # the first value was refused


class Target(IdMixin, Timestamps, Base):
    """One row per (function, measure, branch, edition, period). Money targets hold integer
    minor units of `currency` in `value`; a change above the approval threshold waits in
    `pending_value` until the approval gate decides."""

    __tablename__ = "analytics_targets"
    __table_args__ = (
        UniqueConstraint(
            "function", "measure", "branch_id", "edition", "period_label", name="uq_analytics_targets_key"
        ),
    )
    function: Mapped[str] = mapped_column(String(40))
    measure: Mapped[str] = mapped_column(String(60))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    edition: Mapped[str] = mapped_column(String(10))
    period_label: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date]
    period_end: Mapped[date]  # exclusive, local calendar
    value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    higher_is_better: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(10), default=TargetStatus.ACTIVE)
    pending_value: Mapped[float | None] = mapped_column(Float)
    revision: Mapped[int] = mapped_column(default=0)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
