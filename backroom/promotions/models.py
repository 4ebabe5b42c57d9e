"""Promotions (coupons), their codes, and one redemption per order that used a promotion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, Id, IdMixin, Timestamps, Transactional


class PromotionKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    FREE_SHIPPING = "free_shipping"
    BUY_X_GET_Y = "buy_x_get_y"


class PromotionTarget(StrEnum):
    ORDER = "order"
    PRODUCTS = "products"
    CATEGORY = "category"


class Eligibility(StrEnum):
    ALL = "all"
    CUSTOMERS = "customers"  # only the listed customers
    FIRST_ORDER = "first_order"  # customers (or e-mail addresses) without an earlier order
    SEGMENT = "segment"  # members of a customer segment at the moment of pricing (live rules)


class CodeMode(StrEnum):
    SHARED = "shared"  # one code everybody types
    UNIQUE = "unique"  # N single-use codes generated in bulk
    RECOVERY = "recovery"  # single-use codes issued one by one to abandoned carts


class PromotionStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class CodeStatus(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    USED = "used"
    VOID = "void"


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"  # order placed
    CONFIRMED = "confirmed"  # payment captured
    RELEASED = "released"  # order cancelled / payment failed: the use is back
    RETURNED = "returned"  # whole order refunded and the promotion gives uses back


class Promotion(IdMixin, Transactional, Base):
    """One promotion. `branch_id` is the branch that owns it (who may edit and approve it);
    `branch_ids` the branches where it applies (empty: all). Counters `uses_count` and
    `spent_minor` hold the live (reserved + confirmed) uses and discount, changed only by
    conditional updates under the row lock, so limits never go over."""

    __tablename__ = "promotions"
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16), default=PromotionTarget.ORDER)
    product_ids: Mapped[list] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(100))
    percent_bp: Mapped[int] = mapped_column(default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    buy_qty: Mapped[int] = mapped_column(default=0)
    get_qty: Mapped[int] = mapped_column(default=0)
    min_subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    min_quantity: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    branch_ids: Mapped[list] = mapped_column(JSON, default=list)
    channels: Mapped[list] = mapped_column(JSON, default=list)  # storefront, staff; empty: both
    eligibility: Mapped[str] = mapped_column(String(16), default=Eligibility.ALL)
    customer_ids: Mapped[list] = mapped_column(JSON, default=list)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    exclusive: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=100)
    budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    usage_limit: Mapped[int | None] = mapped_column()
    per_customer_limit: Mapped[int | None] = mapped_column()
    staff_only: Mapped[bool] = mapped_column(default=False)
    refund_returns_use: Mapped[bool] = mapped_column(default=True)
    code_mode: Mapped[str] = mapped_column(String(10), default=CodeMode.SHARED)
    code_valid_days: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=PromotionStatus.DRAFT, index=True)
    uses_count: Mapped[int] = mapped_column(default=0)
    confirmed_count: Mapped[int] = mapped_column(default=0)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # A change to a live promotion that needs approval waits here; the live terms stay.
    proposed: Mapped[dict | None] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(default=0)
    approval_workflow_id: Mapped[str | None] = mapped_column(String(200))
    approval_note: Mapped[str | None] = mapped_column(String(1000))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PromotionCode(IdMixin, Base):
    """A code customers type; stored upper-case, so codes are case-insensitive."""

    __tablename__ = "promotion_codes"
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    single_use: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=CodeStatus.AVAILABLE)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    cart_id: Mapped[int | None] = mapped_column(Id, index=True)
    expires_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(Id)
    created_at: Mapped[datetime]


class Redemption(IdMixin, Timestamps, Base):
    """A promotion used by an order: reserved with the order, confirmed at capture, released
    or returned by the order's compensation. One per (promotion, order)."""

    __tablename__ = "promotion_redemptions"
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("promotion_codes.id"))
    code: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    customer_key: Mapped[str] = mapped_column(String(254))  # customer id or lower-cased e-mail
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    currency: Mapped[str] = mapped_column(String(3))
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    shipping_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    order_total_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=RedemptionStatus.RESERVED)
    reserved_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("promotion_id", "order_id", name="uq_promotion_redemptions_promotion_order"),
        Index("ix_promotion_redemptions_customer", "promotion_id", "customer_key", "status"),
        Index("ix_promotion_redemptions_branch_reserved", "branch_id", "reserved_at"),
    )
