from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Transactional


class LimitRequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    applied = "applied"
    rejected = "rejected"
    expired = "expired"


class EntryKind(StrEnum):
    sale = "sale"
    payment = "payment"
    adjustment = "adjustment"
    goodwill = "goodwill"
    refund = "refund"  # an approved complaint refund where the order was not paid online


class HoldStatus(StrEnum):
    pending = "pending"  # CreditHoldWorkflow decides
    approved = "approved"  # reserved while its sale posts
    posted = "posted"
    declined = "declined"


class HoldResolution(StrEnum):
    approved = "approved"
    paid = "paid"  # a payment freed enough credit
    rejected = "rejected"
    expired = "expired"


class CreditLimitRequest(IdMixin, Transactional, Base):
    """A request to change a customer's credit limit, decided through the approval gate."""

    __tablename__ = "credit_limit_requests"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    current_limit_minor: Mapped[int] = mapped_column(BigInteger)
    requested_limit_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[LimitRequestStatus] = mapped_column(
        String(16), default=LimitRequestStatus.pending, index=True
    )
    workflow_id: Mapped[str | None] = mapped_column(String(200), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(String(1000))


class CreditAccount(IdMixin, Transactional, Base):
    """A customer's running credit account. The limit is customers.credit_limit_minor (single
    source of truth); balance_minor always equals the sum of the account's ledger entries."""

    __tablename__ = "credit_accounts"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    terms_days: Mapped[int] = mapped_column(default=30)
    grace_days: Mapped[int] = mapped_column(default=5)
    on_hold: Mapped[bool] = mapped_column(default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(200))


class CreditEntry(IdMixin, Transactional, Base):
    """One ledger line; never updated or deleted. Positive amounts are owed by the customer
    (sales), negative ones reduce the debt (payments, goodwill credits)."""

    __tablename__ = "credit_entries"
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    balance_after_minor: Mapped[int] = mapped_column(BigInteger)
    # Idempotency key of the posting (e.g. "hold-12", a POS receipt number).
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    due_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_credit_entries_account_at", "account_id", "occurred_at", "id"),
        Index("ix_credit_entries_branch_at", "branch_id", "occurred_at"),
    )


class CreditHold(IdMixin, Transactional, Base):
    """A credit sale above available credit, decided by CreditHoldWorkflow (credit-hold-{id})."""

    __tablename__ = "credit_holds"
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[HoldStatus] = mapped_column(String(10), default=HoldStatus.pending, index=True)
    resolution: Mapped[HoldResolution | None] = mapped_column(String(20))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("credit_entries.id"))

    __table_args__ = (Index("ix_credit_holds_branch_created", "branch_id", "created_at"),)
