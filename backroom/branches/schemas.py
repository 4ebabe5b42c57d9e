"""Request and response models for cashier shifts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backroom.branches.models import ShiftStatus
from backroom.inputs import Input
from backroom.money import Minor

# Cash amounts in minor units: generous, but far inside a 64-bit column.
MAX_CASH_MINOR = 10**12


class ShiftOpen(Input):
    model_config = ConfigDict(extra="forbid")
    branch_id: int = Field(ge=1, le=2**63 - 1)
    opening_float_minor: Minor = Field(default=0, ge=0, le=MAX_CASH_MINOR)


class ShiftClose(Input):
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
    expected_cash_minor: int | None = None
    variance_minor: int | None = None
    currency: str
    note: str | None


class CashIn(Input):
    """Cash put into (pay_in) or taken out of (pay_out) the drawer of your open shift."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["pay_in", "pay_out"]
    amount_minor: Minor = Field(gt=0, le=MAX_CASH_MINOR)
    reason: str = Field(min_length=3, max_length=300)
    reference: str = Field(min_length=1, max_length=120, description="idempotency key of this movement")


class CashMovementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    shift_id: int
    kind: str
    amount_minor: int  # signed: into the drawer positive, out negative
    currency: str
    reason: str
    reference: str
    at: datetime


class ShiftReportRead(BaseModel):
    shift: ShiftRead
    branch: str
    cashier: str
    movements: list[CashMovementRead]
    totals: dict[str, int]
    expected_minor: int
    counted_minor: int | None
    variance_minor: int | None


class OpenDay(Input):
    """One weekday's working hours, local time of the branch ("09:00" to "17:30")."""

    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    opens: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])
    closes: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", examples=["17:30"])


class Holiday(Input):
    model_config = ConfigDict(extra="forbid")
    day: date
    name: str = Field(default="", max_length=120)


class CalendarIn(Input):
    """The branch's working calendar. No hours at all: the branch works around the clock."""

    model_config = ConfigDict(extra="forbid")
    hours: list[OpenDay] = Field(default=[], max_length=7)
    holidays: list[Holiday] = Field(default=[], max_length=400)

    def parts(self) -> tuple[dict[int, tuple[int, int]], dict[date, str]]:
        """(weekday -> (opens, closes) in minutes, day -> holiday name), as the service takes them."""
        return (
            {d.weekday: (minutes(d.opens), minutes(d.closes)) for d in self.hours},
            {h.day: h.name for h in self.holidays},
        )


class CalendarRead(CalendarIn):
    branch_id: int
    timezone: str
    around_the_clock: bool


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hhmm(minutes_: int) -> str:
    return f"{minutes_ // 60:02d}:{minutes_ % 60:02d}"
