"""Marketplace vendors: the vendor record (application to suspension), catalog changes waiting
for a moderator, commission rules and their per-line snapshot, each vendor's share of an order
(held until delivery plus the return window), the append-only vendor ledger, and payouts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional, utcnow


class VendorStatus(StrEnum):
    APPLIED = "applied"  # waiting for a manager
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"  # listings hidden, payouts frozen


class PayoutMethod(StrEnum):
    STRIPE = "stripe"  # a Stripe Connect transfer to the vendor's connected account
    BANK = "bank"  # a line in the manual payout file (CSV)


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ShareStatus(StrEnum):
    OPEN = "open"  # order placed, not delivered yet
    HELD = "held"  # delivered; payable once the return window has passed
    PAYABLE = "payable"
    VOID = "void"  # cancelled before delivery
    DISPUTED = "disputed"  # the card payment is disputed: frozen until the dispute closes


class EntryKind(StrEnum):
    SALE = "sale"
    COMMISSION = "commission"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    PAYOUT = "payout"
    CLAWBACK = "clawback"


class PayoutStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # above the threshold: finance decides
    APPROVED = "approved"  # about to be sent
    PAID = "paid"  # transferred, or written to the payout file
    REJECTED = "rejected"  # finance said no: the money is back in the balance
    FROZEN = "frozen"  # the vendor was suspended before it was sent: money back, not sent


class Vendor(IdMixin, Transactional, Base):
    """A marketplace seller. `branch_id` is the branch whose managers handle it."""

    __tablename__ = "vendors"
    name: Mapped[str] = mapped_column(String(120), unique=True)  # the name shoppers see
    legal_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    tax_id: Mapped[str] = mapped_column(String(40))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    documents: Mapped[list] = mapped_column(JSON, default=list)  # names or links given at application
    payout_method: Mapped[str] = mapped_column(String(10), default=PayoutMethod.STRIPE)
    stripe_account_id: Mapped[str | None] = mapped_column(String(64))
    bank_account_name: Mapped[str | None] = mapped_column(String(120))
    bank_iban: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(12), default=VendorStatus.APPLIED, index=True)
    trusted: Mapped[bool] = mapped_column(default=False)  # catalog changes approved at once
    return_window_days: Mapped[int] = mapped_column(default=14)
    decision_note: Mapped[str | None] = mapped_column(String(500))  # why rejected / suspended
    approval_workflow_id: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[datetime | None]


class ProductChange(IdMixin, Timestamps, Base):
    """A vendor's new product or price/description change, waiting for a catalog moderator.
    The product keeps its listed values until the change is approved."""

    __tablename__ = "vendor_product_changes"
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # new | change
    proposed: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=ChangeStatus.PENDING, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    workflow_id: Mapped[str | None] = mapped_column(String(120))


class CommissionRule(IdMixin, Timestamps, Base):
    """Percent (basis points) plus a fixed fee per line. The most specific rule wins: vendor and
    category, then vendor, then category, then the default (both empty)."""

    __tablename__ = "vendor_commission_rules"
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(64))
    percent_bp: Mapped[int] = mapped_column(default=0)
    fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")

    __table_args__ = (UniqueConstraint("vendor_id", "category", name="uq_vendor_commission_rules_scope"),)


class VendorShare(IdMixin, Transactional, Base):
    """One vendor's part of one order. Its ledger entries count as pending until the share is
    payable (delivery plus the return window, by VendorShareHoldWorkflow)."""

    __tablename__ = "vendor_shares"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ShareStatus.OPEN, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    delivered_at: Mapped[datetime | None]
    payable_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("order_id", "vendor_id", name="uq_vendor_shares_order_vendor"),)


class LineCommission(IdMixin, Base):
    """The commission terms of one order line, snapshotted when the order was placed."""

    __tablename__ = "vendor_line_commissions"
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("vendor_shares.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_commission_rules.id"))
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    percent_bp: Mapped[int] = mapped_column()
    fixed_minor: Mapped[int] = mapped_column(BigInteger)
    commission_minor: Mapped[int] = mapped_column(BigInteger)


class LedgerEntry(IdMixin, Base):
    """Append-only: money the shop owes a vendor (+) or the vendor owes back (-). Never updated;
    balances are sums. `key` makes a retried write a no-op."""

    __tablename__ = "vendor_ledger"
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    share_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_shares.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_payouts.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_vendor_ledger_vendor_at", "vendor_id", "at"),)


class Payout(IdMixin, Transactional, Base):
    """One payment to one vendor from one payout run (`run_key`)."""

    __tablename__ = "vendor_payouts"
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    run_key: Mapped[str] = mapped_column(String(80))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    transfer_id: Mapped[str | None] = mapped_column(String(64))
    file_path: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(120))
    paid_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("vendor_id", "run_key", name="uq_vendor_payouts_vendor_run"),)
