"""Abandoned-cart recovery: the per-branch cadence, each cart's recovery record and the
reminders sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, Id, IdMixin, Timestamps

DEFAULT_DELAYS_HOURS = [1.0, 24.0, 72.0]


class ReminderSettings(Timestamps, Base):
    """A branch's reminder cadence (hours after the cart's last change) and the recovery
    promotion whose single-use codes the last reminder carries (none: no coupon)."""

    __tablename__ = "cart_reminder_settings"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    delays_hours: Mapped[list] = mapped_column(JSON, default=lambda: list(DEFAULT_DELAYS_HOURS))
    recovery_promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"))


class CartRecovery(Timestamps, Base):
    """A cart's abandonment and recovery. A cart is abandoned once it sits idle past the
    first reminder threshold; its later checkout (or the checkout of a cart restored from
    it) recovers it, with the revenue and the reminder step that brought it back."""

    __tablename__ = "cart_recoveries"
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    abandoned_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_step: Mapped[int] = mapped_column(default=0)
    last_reminder_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    origin_cart_id: Mapped[int | None] = mapped_column(Id)  # set on a cart restored from a link
    recovered_at: Mapped[datetime | None]
    recovered_order_id: Mapped[int | None] = mapped_column(Id)
    recovered_step: Mapped[int | None] = mapped_column()
    recovered_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_cart_recoveries_branch_abandoned", "branch_id", "abandoned_at"),)


class CartReminder(IdMixin, Base):
    """One reminder step of one cart: sent, or skipped with the reason. `key` makes the
    step idempotent (the cart's last change + the step)."""

    __tablename__ = "cart_reminders"
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    step: Mapped[int] = mapped_column()
    sent: Mapped[bool] = mapped_column(default=False)
    manual: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(200))
    notification_id: Mapped[int | None] = mapped_column(Id)
    code: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime]
