from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Transactional


class GatedKind(StrEnum):
    """The destructive and ledger actions that need a second person (docs/approvals.md)."""

    customer_merge = "customer_merge"
    customer_erasure = "customer_erasure"
    credit_adjustment = "credit_adjustment"
    stock_writeoff = "stock_writeoff"
    price_change = "price_change"
    cash_payout = "cash_payout"


class GatedStatus(StrEnum):
    pending = "pending"  # FourEyesWorkflow waits on the approval gate
    applied = "applied"  # approved and done by the workflow
    failed = "failed"  # approved, but the action was refused when applied (e.g. already merged)
    rejected = "rejected"
    expired = "expired"


class GatedAction(IdMixin, Transactional, Base):
    """One four-eyes action: requested by one user (created_by_id), approved by another in the
    inbox, applied once by FourEyesWorkflow (four-eyes-{id}). `payload` holds the arguments of
    the domain use case that applies it."""

    __tablename__ = "gated_actions"
    kind: Mapped[GatedKind] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(1000))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[GatedStatus] = mapped_column(String(16), default=GatedStatus.pending, index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    requested_by_name: Mapped[str | None] = mapped_column(String(120))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(120))
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(String(500))
