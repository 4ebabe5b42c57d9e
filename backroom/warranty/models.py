"""Warranty registrations (one per delivered unit, or registered by hand) and their history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional


class WarrantyStatus(StrEnum):
    """Stored status; "expiring" is derived at read time (see backroom.warranty.service.status_of)."""

    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    VOIDED = "voided"


class WarrantySource(StrEnum):
    DELIVERY = "delivery"  # registered when the order was delivered
    MANUAL = "manual"  # registered by a clerk (in-store sale)


class Warranty(IdMixin, Transactional, Base):
    """One unit under warranty. WarrantyWorkflow (warranty-{id}) sends its expiry notices and
    marks it expired; extensions and transfers move its timers."""

    __tablename__ = "warranties"
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    order_line_id: Mapped[int | None] = mapped_column(BigInteger)
    unit_no: Mapped[int] = mapped_column(default=1)
    serial: Mapped[str | None] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(10))
    proof: Mapped[str | None] = mapped_column(Text)
    purchased_at: Mapped[datetime]
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    months: Mapped[int]
    extended_months: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default=WarrantyStatus.ACTIVE, index=True)
    # order-{id}:line-{id}:unit-{n} for registrations from a delivery: one per unit, however
    # often the delivery event is retried.
    registration_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_warranties_branch_created", "branch_id", "created_at"),)


class WarrantyEvent(IdMixin, Timestamps, Base):
    """What happened to a warranty: registered, notice_30, notice_7, extended, transferred..."""

    __tablename__ = "warranty_events"
    warranty_id: Mapped[int] = mapped_column(ForeignKey("warranties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    detail: Mapped[str | None] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime]
