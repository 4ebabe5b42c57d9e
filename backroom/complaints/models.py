from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional


class ComplaintStatus(StrEnum):
    open = "open"
    awaiting_customer = "awaiting_customer"  # SLA clocks paused
    resolved = "resolved"  # may reopen inside the reopen window
    closed = "closed"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Channel(StrEnum):
    phone = "phone"
    email = "email"
    store = "store"
    web = "web"


class Level(StrEnum):
    """Who holds the complaint; each SLA breach escalates one level."""

    agent = "agent"
    supervisor = "supervisor"
    manager = "manager"


class Compensation(StrEnum):
    none = "none"
    goodwill = "goodwill"  # a credit posted to the customer's account at once
    refund = "refund"  # asked through the approval gate by the workflow
    coupon = "coupon"


class CompensationStatus(StrEnum):
    posted = "posted"  # goodwill under the branch's threshold, credited at once
    pending_approval = "pending_approval"  # the workflow waits on the approval gate
    refunded = "refunded"  # money back to the card of the complaint's order
    credited = "credited"  # to the customer's credit account (goodwill, or no online payment)
    rejected = "rejected"
    expired = "expired"


class Complaint(IdMixin, Transactional, Base):
    """A customer complaint run by ComplaintWorkflow (complaint-{id}) against its severity's SLA.
    The SLA columns are the workflow's clock, projected here for pages and the queue."""

    __tablename__ = "complaints"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[Channel] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[Severity] = mapped_column(String(10))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(String(20), default=ComplaintStatus.open, index=True)
    level: Mapped[Level] = mapped_column(String(20), default=Level.agent)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(Text)
    compensation: Mapped[Compensation | None] = mapped_column(String(20))
    compensation_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    # Where the compensation stands: posted (goodwill at once), pending_approval, refunded (to the
    # card), credited (to the credit account), rejected, expired. settled_* is what actually moved.
    compensation_status: Mapped[CompensationStatus | None] = mapped_column(String(20))
    settled_minor: Mapped[int | None] = mapped_column(BigInteger)
    settled_ref: Mapped[str | None] = mapped_column(String(120))
    reopened_count: Mapped[int] = mapped_column(default=0)
    workflow_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_complaints_status_due", "status", "resolution_due_at"),
        Index("ix_complaints_branch_created", "branch_id", "created_at"),
        Index("ix_complaints_branch_resolved", "branch_id", "resolved_at"),
    )


class ComplaintEvent(IdMixin, Timestamps, Base):
    """What happened to a complaint: logged, responded, paused, breach, escalated, resolved..."""

    __tablename__ = "complaint_events"
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Deterministic for workflow-written events so a retried activity records it once.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    detail: Mapped[str | None] = mapped_column(Text)
    level: Mapped[Level | None] = mapped_column(String(20))
    actor_name: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime]


class ComplaintAttachment(IdMixin, Timestamps, Base):
    """A file attached to a complaint, stored under var/attachments/."""

    __tablename__ = "complaint_attachments"
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
