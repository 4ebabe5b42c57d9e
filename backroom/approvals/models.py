from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ApprovalRequest(IdMixin, Timestamps, Base):
    """The inbox projection of one approval gate opened by a workflow.

    The gate's activities open, escalate and expire it; a staff decision closes it in the
    API's own transaction (approvals.service.decide), which then tells the workflow. Every
    change is conditional on the row still being pending, so the first to commit wins."""

    __tablename__ = "approval_requests"
    # Unique per gate in a workflow run: makes opening the gate idempotent across retries.
    key: Mapped[str] = mapped_column(String(250), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(1000))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_by_name: Mapped[str | None] = mapped_column(String(120))
    function: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    # Roles that may decide at the current level, comma-separated; escalation appends.
    roles: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.PENDING, index=True)
    deadline_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    # The domain step that settles a decision in the decision's transaction (approvals.settlers).
    settled_by: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_approval_requests_inbox", "status", "branch_id", "deadline_at"),)
