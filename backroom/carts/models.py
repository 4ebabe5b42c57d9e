from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional


class CartStatus(StrEnum):
    """Where a cart stands; CartWorkflow moves it and projects it here."""

    OPEN = "open"
    CHECKING_OUT = "checking_out"
    CHECKED_OUT = "checked_out"
    ABANDONED = "abandoned"


class Cart(IdMixin, Transactional, Base):
    """Projection of a CartWorkflow for lists and reports; the workflow is the source of truth.
    branch_id is the storefront's selling branch."""

    __tablename__ = "carts"
    session_key: Mapped[str | None] = mapped_column(String(64), index=True)  # anonymous storefront cookie
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CartStatus.OPEN, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    item_count: Mapped[int] = mapped_column(default=0)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_activity_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=0)  # projection writes only move forward
    order_id: Mapped[int | None] = mapped_column()

    __table_args__ = (Index("ix_carts_branch_created", "branch_id", "created_at"),)


class CartLine(IdMixin, Timestamps, Base):
    __tablename__ = "cart_lines"
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column()
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)
