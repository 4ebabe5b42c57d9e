"""Request and response models for cashier shifts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.branches.models import ShiftStatus
from backroom.money import Minor

# Cash amounts in minor units: generous, but far inside a 64-bit column.
MAX_CASH_MINOR = 10**12


class ShiftOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_id: int = Field(ge=1, le=2**63 - 1)
    opening_float_minor: Minor = Field(default=0, ge=0, le=MAX_CASH_MINOR)


class ShiftClose(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    closing_count_minor: Minor = Field(ge=0, le=MAX_CASH_MINOR)
    note: str | None = Field(default=None, max_length=500)


class ShiftRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    branch_id: int
    user_id: int
    status: ShiftStatus
    opened_at: datetime
    closed_at: datetime | None
    opening_float_minor: int
    closing_count_minor: int | None
    currency: str
    note: str | None
