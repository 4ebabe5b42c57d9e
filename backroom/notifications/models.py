from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps

# What an erased customer's messages say instead of their text.
ERASED_BODY = "(erased with the customer's personal data)"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; retried when its lease runs out
    SENT = "sent"
    FAILED = "failed"  # gave up after the sender's attempts


class Notification(IdMixin, Timestamps, Base):
    """One outbound message (outbox row), written in the transaction of the change that caused
    it and sent later by the sender, which marks it sent exactly once."""

    __tablename__ = "notifications"
    # Makes enqueueing idempotent for retried activities (e.g. "complaint-7:breach:1").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str | None] = mapped_column(String(254))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    transport: Mapped[str | None] = mapped_column(String(10))  # smtp | mailbox
    sent_at: Mapped[datetime | None]
    # When a sender claimed the row; a claim older than the sender's lease was abandoned (crash).
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_notifications_status_id", "status", "id"),)


class NotificationAttachment(IdMixin, Base):
    """A file sent with a notification (e.g. a subscribed report), written with it."""

    __tablename__ = "notification_attachments"
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
