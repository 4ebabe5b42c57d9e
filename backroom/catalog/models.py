from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional


class ProductStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"  # no longer sold; kept for orders that name it
    # Marketplace listings (backroom/vendors): not for sale until a moderator approves, refused,
    # or hidden while the vendor is suspended.
    PENDING = "pending"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class ReservationStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"
    SHIPPED = "shipped"


class Product(IdMixin, Timestamps, Base):
    """A sellable item. One product is one SKU: variants are separate products sharing a category."""

    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate_bp: Mapped[int] = mapped_column(default=0)  # basis points: 825 = 8.25 %
    weight_g: Mapped[int] = mapped_column(default=0)
    length_mm: Mapped[int] = mapped_column(default=0)
    width_mm: Mapped[int] = mapped_column(default=0)
    height_mm: Mapped[int] = mapped_column(default=0)
    warranty_months: Mapped[int] = mapped_column(default=0)
    # goods | extended_warranty (sold to extend a registered warranty by warranty_months).
    kind: Mapped[str] = mapped_column(String(20), default="goods", server_default="goods")
    # The warehouse enters (or scans) each unit's serial number when packing it; warranty
    # registrations from the delivery carry it.
    serial_tracked: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Marketplace vendor owning the listing; null for the retailer's own goods.
    vendor_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default=ProductStatus.ACTIVE, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("price_minor >= 0", name="price_nonneg"),)


class StockLevel(IdMixin, Timestamps, Base):
    """Units of one product in one branch. available = on_hand - reserved, never negative."""

    __tablename__ = "stock_levels"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    bin: Mapped[str | None] = mapped_column(String(40))  # shelf or bin in the branch: "A-03-2"

    __table_args__ = (
        UniqueConstraint("product_id", "branch_id", name="uq_stock_levels_product_branch"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )


class StockMovement(IdMixin, Transactional, Base):
    """The stock ledger: every change to on_hand or reserved, with why and for what."""

    __tablename__ = "stock_movements"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # adjust | reserve | release | ship
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(64), index=True)  # e.g. "order-12"


class StockReservation(IdMixin, Transactional, Base):
    """Units held for one order line until shipped or released. Status changes are conditional,
    so releasing or shipping twice changes nothing."""

    __tablename__ = "stock_reservations"
    order_id: Mapped[int] = mapped_column(index=True)
    order_line_id: Mapped[int | None] = mapped_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default=ReservationStatus.HELD)

    __table_args__ = (Index("ix_stock_reservations_order_status", "order_id", "status"),)
