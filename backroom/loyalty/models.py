"""Loyalty: programs (one per currency), tiers, members and the append-only points ledger.

The balance is never stored: it is the sum of a member's entries. An award (earn, or a
positive adjustment) carries its own expiry date, fixed when it is written, so a later change
of the program's expiry period only reaches future awards. Every entry that takes points away
(redeem, expire, reverse, negative adjustment) names the award it consumes (`award_id`), and
the service never takes more than an unexpired award has left: the balance cannot go below
zero and an expired point cannot be redeemed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, utcnow


class ProgramStatus(StrEnum):
    draft = "draft"
    active = "active"
    archived = "archived"


class EarnMoment(StrEnum):
    delivered = "delivered"  # points on delivery
    return_window = "return_window"  # points once the return window has passed


class EarnRounding(StrEnum):
    """How spend becomes whole currency units before points: 12.60 earns for 12 (down),
    13 (nearest, halves up) or 13 (up)."""

    down = "down"
    nearest = "nearest"
    up = "up"


class EarnChannels(StrEnum):
    online = "online"
    credit = "credit"
    both = "both"


class EntryKind(StrEnum):
    earn = "earn"
    redeem = "redeem"
    expire = "expire"
    reverse = "reverse"
    adjust = "adjust"


class EnrolRule(StrEnum):
    manual = "manual"  # customers join with their consent (staff or storefront)
    first_purchase = "first_purchase"  # a customer's first earning purchase enrols them
    segment = "segment"  # the nightly run enrols the members of `enrol_segment_id`


class LoyaltyProgram(IdMixin, Timestamps, Base):
    __tablename__ = "loyalty_programs"
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3), index=True)
    status: Mapped[ProgramStatus] = mapped_column(String(10), default=ProgramStatus.draft)
    points_per_unit: Mapped[int] = mapped_column(Integer, default=1)  # per whole currency unit spent
    earn_rounding: Mapped[EarnRounding] = mapped_column(
        String(8), default=EarnRounding.down, server_default=EarnRounding.down
    )
    earn_on: Mapped[EarnMoment] = mapped_column(String(16), default=EarnMoment.delivered)
    return_window_days: Mapped[int] = mapped_column(Integer, default=14)
    channels: Mapped[EarnChannels] = mapped_column(String(8), default=EarnChannels.both)
    excluded_categories: Mapped[str] = mapped_column(Text, default="")  # comma separated
    expiry_days: Mapped[int] = mapped_column(Integer, default=365)
    welcome_points: Mapped[int] = mapped_column(Integer, default=0)
    birthday_points: Mapped[int] = mapped_column(Integer, default=0)  # on the member's birthday, yearly
    # Welcome and birthday bonuses only for members in this segment (None: every member).
    bonus_segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    enrol_rule: Mapped[EnrolRule] = mapped_column(String(16), default=EnrolRule.manual)
    enrol_segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    point_value_minor: Mapped[int] = mapped_column(Integer, default=1)  # money one point is worth
    min_redeem_points: Mapped[int] = mapped_column(Integer, default=100)
    max_redeem_percent: Mapped[int] = mapped_column(Integer, default=50)  # of the order's items
    adjust_approval_points: Mapped[int] = mapped_column(Integer, default=1000)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LoyaltyTier(IdMixin, Timestamps, Base):
    __tablename__ = "loyalty_tiers"
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    min_spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # rolling 12 months
    multiplier_percent: Mapped[int] = mapped_column(Integer, default=100)
    perks: Mapped[str] = mapped_column(Text, default="")


class LoyaltyMember(IdMixin, Timestamps, Base):
    __tablename__ = "loyalty_members"
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_tiers.id"))
    consent_at: Mapped[datetime | None] = mapped_column()
    enrolled_by: Mapped[str] = mapped_column(String(20), default="customer")  # customer | staff | rule
    debt_points: Mapped[int] = mapped_column(BigInteger, default=0)  # clawed back but already spent
    # Month and day only (no year: the bonus needs no more of the customer's data).
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        UniqueConstraint("program_id", "customer_id", name="uq_loyalty_members_program_customer"),
        Index("ix_loyalty_members_birthday", "birth_month", "birth_day"),
    )


class LoyaltyEntry(IdMixin, Base):
    """One ledger line. Awards: kind earn/adjust with points > 0 and `expires_at`. Takings:
    points < 0 with `award_id`. A give-back (cancelled order) is a positive `reverse` on the
    award the redemption took from. `key` makes every write idempotent. An award with
    `held_at` set is on hold: out of the spendable points until released."""

    __tablename__ = "loyalty_entries"
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(BigInteger)
    award_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_entries.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column()
    spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # qualifying spend (tiers)
    source_type: Mapped[str | None] = mapped_column(String(20))  # order | credit_entry | staff
    source_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(300))
    # A claw-back's points it could not take (already spent): added to the member's debt.
    owed_points: Mapped[int] = mapped_column(BigInteger, default=0)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # An award on hold (its purchase is disputed at the bank): neither spendable nor expiring
    # until the dispute closes.
    held_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_loyalty_entries_source", "source_type", "source_id"),
        Index("ix_loyalty_entries_expiry", "expires_at"),
    )


class AdjustmentStatus(StrEnum):
    pending = "pending"
    applied = "applied"
    rejected = "rejected"
    expired = "expired"


class LoyaltyAdjustment(IdMixin, Timestamps, Base):
    """A staff adjustment above the program's threshold, waiting for the approval gate."""

    __tablename__ = "loyalty_adjustments"
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[AdjustmentStatus] = mapped_column(String(10), default=AdjustmentStatus.pending)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
