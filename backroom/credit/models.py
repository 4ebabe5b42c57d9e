from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Transactional


class CreditLimitRequest(IdMixin, Transactional, Base):
    """A request to change a customer's credit limit, decided through the approval gate."""

    __tablename__ = "credit_limit_requests"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    current_limit_minor: Mapped[int] = mapped_column(BigInteger)
    requested_limit_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(1000))
    # pending | approved | applied | rejected | expired
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(String(1000))


# --- Customer credit tracking: accounts, the append-only ledger, holds ---------------------

from datetime import datetime  # noqa: E402

from sqlalchemy import Index, Text  # noqa: E402


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
    kind: Mapped[str] = mapped_column(String(12))  # sale | payment | adjustment | goodwill
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
    # pending | approved | posted | declined
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    resolution: Mapped[str | None] = mapped_column(String(20))  # approved | paid | rejected | expired
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("credit_entries.id"))

    __table_args__ = (Index("ix_credit_holds_branch_created", "branch_id", "created_at"),)
