"""What a report looks like on the wire (JSON), in snapshots and in the exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from backroom.reports.catalog import Dimension, Unit
from backroom.reports.periods import Edition


class MoneyAmount(BaseModel):
    amount_minor: int
    currency: str
    display: str  # "12.50 USD"


class Figure(BaseModel):
    """One number. Money is a list (one amount per currency, never summed across currencies);
    counts, durations (seconds) and ratios (0..1) are `value`. `available` is false where the
    records cannot be cut the way the report asks (e.g. by shift for records without one)."""

    value: float | int | None = None
    money: list[MoneyAmount] = []
    display: str = ""
    available: bool = True


class Links(BaseModel):
    api: str
    ui: str


class SummaryLine(BaseModel):
    measure: str
    label: str
    unit: Unit
    current: Figure
    previous: Figure
    drilldown: Links | None = None


class BreakdownRow(BaseModel):
    key: str  # the dimension value as the API takes it back (branch id, day "2026-11-30", ...)
    name: str  # for people
    figures: dict[str, Figure]
    drilldown: dict[str, Links] = {}


class Breakdown(BaseModel):
    dimension: Dimension
    label: str
    measures: list[str]  # column order
    labels: dict[str, str]
    units: dict[str, Unit]
    rows: list[BreakdownRow]


class BranchPeriod(BaseModel):
    """The exact interval the report covered in one branch: UTC and the branch's own zone."""

    branch_id: int
    branch: str
    timezone: str
    start_utc: datetime
    end_utc: datetime
    start_local: datetime
    end_local: datetime
    hours: float


class ExceptionRow(BaseModel):
    kind: str
    kind_label: str
    record: str
    record_id: int
    at: datetime
    at_local: str
    branch: str
    description: str
    link: str | None = None


class PeriodRead(BaseModel):
    edition: Edition
    label: str
    start_local: date
    end_local: date  # exclusive
    bounds: list[BranchPeriod]


class RecordFilter(BaseModel):
    """A filter by a record of the report's own (a promotion): its id, what it is, its name."""

    id: int
    label: str
    name: str


class ReportFilters(BaseModel):
    branch_ids: list[int] | None = None
    branches: list[str] = []
    user_id: int | None = None
    user: str | None = None
    shift_id: int | None = None
    shift: str | None = None
    own_shifts_only: bool = False
    category: str | None = None
    records: dict[str, RecordFilter] = {}  # by dimension ("promotion")


class ReportRead(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="null")

    function: str
    function_label: str
    edition: Edition
    period: PeriodRead
    previous_period: PeriodRead
    filters: ReportFilters
    main_measure: str
    summary: list[SummaryLine]
    breakdowns: list[Breakdown]
    exceptions: list[ExceptionRow]
    generated_at: datetime
    links: Links
    has_data: bool


class ReportSetRead(BaseModel):
    """One function's report set as the index lists it."""

    function: str
    label: str
    editions: list[Edition]
    measures: list[dict[str, Any]]
    dimensions: list[Dimension]
    links: dict[str, Links]


class DrillRow(BaseModel):
    record: str
    id: int
    at: datetime
    at_local: str
    branch: str
    user: str | None = None
    fields: dict[str, str]
    link: str | None = None


class DrilldownRead(BaseModel):
    function: str
    measure: str
    label: str
    edition: Edition
    period: str
    items: list[DrillRow]
    next_cursor: str | None = None
