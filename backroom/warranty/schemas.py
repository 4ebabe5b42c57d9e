"""Warranty API payloads."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.auth.schemas import MAX_ID
from backroom.inputs import Input


class WarrantyCreate(Input):
    """A registration by hand (in-store sale): customer, product, serial, purchase date, proof."""

    customer_id: int = Field(gt=0, le=MAX_ID)
    product_id: int = Field(gt=0, le=MAX_ID)
    serial: str | None = Field(default=None, max_length=100)
    purchased_at: datetime
    proof: str | None = Field(default=None, max_length=2000, description="receipt number or note")
    branch_id: int | None = Field(default=None, gt=0, le=MAX_ID)

    @field_validator("purchased_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # A date typed in a form has no zone: it is read as UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class WarrantyUpdate(Input):
    """Edit the serial number (e.g. recorded after delivery) or the proof of purchase."""

    serial: str | None = Field(default=None, max_length=100)
    proof: str | None = Field(default=None, max_length=2000)


class WarrantyExtend(Input):
    months: int = Field(gt=0, le=120)
    reason: str | None = Field(default=None, max_length=500)


class WarrantyTransfer(Input):
    customer_id: int = Field(gt=0, le=MAX_ID)
    reason: str | None = Field(default=None, max_length=500)


class WarrantyVoid(Input):
    reason: str = Field(min_length=1, max_length=500)


class WarrantyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    product_id: int
    order_id: int | None
    serial: str | None
    source: str
    purchased_at: datetime
    starts_at: datetime
    expires_at: datetime
    months: int
    extended_months: int
    status: str = Field(description="active | expiring | expired | voided (expiring: within 30 days)")
    branch_id: int
    customer_name: str | None = None
    product_name: str | None = None


class WarrantyEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    at: datetime
    detail: str | None
    actor_name: str | None


class WarrantyDetail(WarrantyRead):
    events: list[WarrantyEventRead] = []
