"""Abandoned-cart payloads: the branch's reminder settings, the staff list rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.inputs import Input


class ReminderSettingsIn(Input):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    # Each delay 15 minutes to 29 days, in hours: in the schema too, so clients know the range.
    delays_hours: list[Annotated[float, Field(ge=0.25, le=24 * 29)]] = Field(
        min_length=1, max_length=5, json_schema_extra={"uniqueItems": True}
    )
    recovery_promotion_id: int | None = Field(default=None, ge=1)

    @field_validator("delays_hours")
    @classmethod
    def _delays(cls, v: list[float]) -> list[float]:
        if len(set(v)) != len(v):
            raise ValueError("Give each delay once.")
        return v


class ReminderSettingsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    branch_id: int
    enabled: bool
    delays_hours: list[float]
    recovery_promotion_id: int | None


class ReminderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    step: int
    sent: bool
    manual: bool
    reason: str | None
    code: str | None
    at: datetime


class AbandonedCartRead(BaseModel):
    cart_id: int
    branch_id: int
    status: str
    customer_id: int | None
    customer_name: str | None
    currency: str
    value_minor: int
    item_count: int
    last_activity_at: datetime | None
    abandoned_at: datetime | None
    reminders_sent: int
    last_reminder_at: datetime | None
    unsubscribed: bool
    recovered_at: datetime | None
    recovered_order_id: int | None
    recovered_step: int | None
    recovered_minor: int


class AbandonedCartDetail(AbandonedCartRead):
    reminders: list[ReminderRead]


class ReminderSent(BaseModel):
    sent: bool
    reason: str | None = None


class AbandonedCartPage(BaseModel):
    items: list[AbandonedCartRead]
    next_cursor: str | None
