"""After-sales cases (RMA: returns for refund, exchanges, repairs), their quote lines and timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional


class CaseKind(StrEnum):
    REFUND = "refund"  # return for refund
    EXCHANGE = "exchange"  # return for a replacement
    REPAIR = "repair"


class CaseState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    AWAITING_ITEM = "awaiting_item"
    RECEIVED = "received"  # received and inspected
    DIAGNOSED = "diagnosed"
    QUOTE_SENT = "quote_sent"
    QUOTE_APPROVED = "quote_approved"
    QUOTE_DECLINED = "quote_declined"
    IN_REPAIR = "in_repair"
    QUALITY_CHECK = "quality_check"
    READY = "ready"
    RETURNED = "returned"  # returned to the customer
    REPLACED = "replaced"
    REFUNDED = "refunded"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RmaCase(IdMixin, Transactional, Base):
    """One return or repair, driven by RmaCaseWorkflow (rma-{id}). `state` is the workflow's
    state projected for pages; the SLA columns are its clock."""

    __tablename__ = "rma_cases"
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default=CaseState.REQUESTED, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    order_line_id: Mapped[int | None] = mapped_column(BigInteger)
    warranty_id: Mapped[int | None] = mapped_column(ForeignKey("warranties.id"), index=True)
    serial: Mapped[str | None] = mapped_column(String(100))
    under_warranty: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    opened_via: Mapped[str] = mapped_column(String(10), default="staff")  # staff | storefront
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    diagnosis: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    quote_minor: Mapped[int | None] = mapped_column(BigInteger)
    quote_due_at: Mapped[datetime | None]
    charged_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # repair revenue
    refund_minor: Mapped[int | None] = mapped_column(BigInteger)
    refund_id: Mapped[str | None] = mapped_column(String(80))
    refunded_at: Mapped[datetime | None]
    replacement_order_id: Mapped[int | None] = mapped_column(BigInteger)
    damaged: Mapped[bool] = mapped_column(default=False)
    restocked: Mapped[bool] = mapped_column(default=False)  # the returned unit went back on sale
    by_post: Mapped[bool] = mapped_column(default=False)  # labels both ways, else over the counter
    # Labels: one return label (prepaid, to us) and one outbound label (back to the customer).
    return_label_id: Mapped[str | None] = mapped_column(String(80))
    return_tracking: Mapped[str | None] = mapped_column(String(80))
    return_label_path: Mapped[str | None] = mapped_column(String(300))
    outbound_label_id: Mapped[str | None] = mapped_column(String(80))
    outbound_tracking: Mapped[str | None] = mapped_column(String(80))
    outbound_label_path: Mapped[str | None] = mapped_column(String(300))
    # SLA: a turnaround target per kind; the clock stops while waiting on the customer.
    sla_minutes: Mapped[int]
    due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # returned | replaced | refunded | cancelled...
    workflow_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_rma_cases_branch_created", "branch_id", "created_at"),
        Index("ix_rma_cases_state_due", "state", "due_at"),
    )


class RmaQuoteLine(IdMixin, Timestamps, Base):
    """A part or labour line of a repair quote (money in minor units)."""

    __tablename__ = "rma_quote_lines"
    case_id: Mapped[int] = mapped_column(ForeignKey("rma_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # part | labour
    description: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column(default=1)
    unit_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)


class RmaEvent(IdMixin, Timestamps, Base):
    """The case timeline: every transition (from -> to) and what happened in between."""

    __tablename__ = "rma_events"
    case_id: Mapped[int] = mapped_column(ForeignKey("rma_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    detail: Mapped[str | None] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime]
