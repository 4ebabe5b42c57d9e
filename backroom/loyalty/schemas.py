from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.ids import RecordId
from backroom.inputs import Input
from backroom.loyalty.models import (
    EarnChannels,
    EarnMoment,
    EarnRounding,
    EnrolRule,
    EntryKind,
    ProgramStatus,
)
from backroom.money import Minor


class TierIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=60)
    min_spend_minor: Minor = Field(ge=0, le=10**12)
    multiplier_percent: int = Field(default=100, ge=0, le=1000)
    perks: str = Field(default="", max_length=2000)


class ProgramCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=120)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    points_per_unit: int = Field(default=1, ge=1, le=1000)
    earn_rounding: EarnRounding = Field(
        default=EarnRounding.down, description="How spend is rounded to whole currency units before points."
    )
    earn_on: EarnMoment = EarnMoment.delivered
    return_window_days: int = Field(default=14, ge=0, le=365)
    channels: EarnChannels = EarnChannels.both
    excluded_categories: list[str] = Field(default_factory=list, max_length=50)
    expiry_days: int = Field(default=365, ge=1, le=3650)
    welcome_points: int = Field(default=0, ge=0, le=100000)
    birthday_points: int = Field(default=0, ge=0, le=100000)
    bonus_segment_id: RecordId | None = Field(
        default=None, description="Welcome and birthday bonuses only for this segment's members."
    )
    enrol_rule: EnrolRule = EnrolRule.manual
    enrol_segment_id: RecordId | None = Field(default=None, description="With enrol_rule 'segment'.")
    point_value_minor: Minor = Field(default=1, ge=1, le=10000)
    min_redeem_points: int = Field(default=100, ge=1, le=10**7)
    max_redeem_percent: int = Field(default=50, ge=1, le=100)
    adjust_approval_points: int = Field(default=1000, ge=1, le=10**7)
    tiers: list[TierIn] = Field(default_factory=list, max_length=10)


class ProgramUpdate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    points_per_unit: int | None = Field(default=None, ge=1, le=1000)
    earn_rounding: EarnRounding | None = None
    expiry_days: int | None = Field(default=None, ge=1, le=3650)
    point_value_minor: Minor | None = Field(default=None, ge=1, le=10000)
    min_redeem_points: int | None = Field(default=None, ge=1, le=10**7)
    max_redeem_percent: int | None = Field(default=None, ge=1, le=100)
    adjust_approval_points: int | None = Field(default=None, ge=1, le=10**7)
    welcome_points: int | None = Field(default=None, ge=0, le=100000)
    birthday_points: int | None = Field(default=None, ge=0, le=100000)
    bonus_segment_id: RecordId | None = None
    enrol_rule: EnrolRule | None = None
    enrol_segment_id: RecordId | None = None


class TierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    min_spend_minor: int
    multiplier_percent: int
    perks: str


class ProgramRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    currency: str
    status: ProgramStatus
    points_per_unit: int
    earn_rounding: EarnRounding = EarnRounding.down
    earn_on: EarnMoment
    return_window_days: int
    channels: EarnChannels
    expiry_days: int
    welcome_points: int
    birthday_points: int = 0
    bonus_segment_id: int | None = None
    enrol_rule: EnrolRule = EnrolRule.manual
    enrol_segment_id: int | None = None
    point_value_minor: int
    min_redeem_points: int
    max_redeem_percent: int
    adjust_approval_points: int
    tiers: list[TierRead] = []


class EnrolIn(Input):
    model_config = ConfigDict(extra="forbid")
    customer_id: RecordId
    consent: bool = Field(description="The customer agreed to join (recorded with the time).")
    birth_month: int | None = Field(default=None, ge=1, le=12, description="For the birthday bonus.")
    birth_day: int | None = Field(default=None, ge=1, le=31)


class BirthdayIn(Input):
    model_config = ConfigDict(extra="forbid")
    birth_month: int | None = Field(default=None, ge=1, le=12)
    birth_day: int | None = Field(default=None, ge=1, le=31)


class AdjustIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    points: int = Field(ge=-(10**7), le=10**7)
    reason: str = Field(default="", max_length=300)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: EntryKind
    points: int
    at: datetime
    expires_at: datetime | None
    reason: str | None
    source_type: str | None
    source_id: str | None


class Expiry(BaseModel):
    expires_at: datetime
    points: int


class CardRead(BaseModel):
    """A member's card: what the customer page and the storefront show."""

    member_id: int
    customer_id: int
    program: str
    currency: str
    balance: int
    balance_value_minor: int
    on_hold: int = 0  # of the balance: points of disputed purchases, not spendable until it closes
    debt_points: int
    tier: str | None
    spend_12m_minor: int
    next_tier: str | None
    to_next_tier_minor: int | None
    expiring: list[Expiry]
    ledger: list[EntryRead]
    birthday: str | None = None  # "14 March": the birthday bonus's day


class AdjustmentRead(BaseModel):
    status: str  # applied | pending_approval
    points: int
    balance: int
    adjustment_id: int | None = None
