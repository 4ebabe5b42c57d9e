"""An exception alert: one row per key (e.g. `complaint-12:resolution-breach`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Resolution(StrEnum):
    MANUAL = "manual"  # a person resolved it
    AUTO = "auto"  # the sweep saw the cause clear


class ExceptionAlert(IdMixin, Timestamps, Base):
    """Something people should look at, in a branch, linked to its record. The orders domain's
    own `alerts` table (fulfilment alerts) is one of the causes the sweep mirrors here."""

    __tablename__ = "exception_alerts"
    __table_args__ = (Index("ix_exception_alerts_branch_status", "branch_id", "status"),)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    module: Mapped[str] = mapped_column(String(20))  # custops | commerce
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=AlertStatus.OPEN)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    raised_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    raised_by: Mapped[str] = mapped_column(String(200))
    occurrences: Mapped[int] = mapped_column(default=1)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(10))
    resolution_note: Mapped[str | None] = mapped_column(String(500))
