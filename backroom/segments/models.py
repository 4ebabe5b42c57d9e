"""Rule segments (conditions stored as data, never SQL), daily membership snapshots, and the
nightly RFM scores per customer."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class Segment(IdMixin, Timestamps, Base):
    __tablename__ = "segments"
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    rules: Mapped[dict] = mapped_column(JSON)  # a backroom.segments.schemas.Group, as JSON
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SegmentMembership(Base):
    """Who was in a segment on a day (one row per member per snapshot day)."""

    __tablename__ = "segment_memberships"
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)


class CustomerRfm(Base):
    """Recency, frequency, monetary quintiles (5 = best) within the customer's home branch."""

    __tablename__ = "customer_rfm"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)
    r: Mapped[int] = mapped_column(SmallInteger)
    f: Mapped[int] = mapped_column(SmallInteger)
    m: Mapped[int] = mapped_column(SmallInteger)
    computed_at: Mapped[datetime] = mapped_column()


class CampaignStatus(StrEnum):
    pending_approval = "pending_approval"
    sent = "sent"
    rejected = "rejected"


class SegmentCampaign(IdMixin, Timestamps, Base):
    """A one-off e-mail to a segment's members who agreed to e-mail."""

    __tablename__ = "segment_campaigns"
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))  # the requester's
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(10000))
    status: Mapped[CampaignStatus] = mapped_column(String(20))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
