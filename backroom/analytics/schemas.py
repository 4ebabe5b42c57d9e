"""Analytics answers for the API and pages."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class Point(BaseModel):
    start: date
    value: float | None
    moving_average: float | None = None
    partial: bool = False


class TrendRead(BaseModel):
    function: str
    measure: str
    label: str
    unit: str
    currency: str | None
    window_days: int
    bucket: str
    start: date
    end: date  # exclusive
    points: list[Point]
    moving_average_buckets: int
    slope_per_bucket: float | None  # least squares over complete buckets
    change_pct: float | None  # first vs last complete bucket
    total: float | None
    display_total: str


class VarianceLine(BaseModel):
    baseline: str  # previous_period | last_year | trailing_average | target
    label: str
    period: str
    value: float | None
    display: str
    variance: float | None  # current - baseline
    variance_pct: float | None
    outside_tolerance: bool
    favourable: bool | None


class VarianceRead(BaseModel):
    function: str
    measure: str
    label: str
    unit: str
    edition: str
    period: str
    current: float | None
    display: str
    tolerance_pct: float
    lines: list[VarianceLine]


class HeatCell(BaseModel):
    row: str
    column: str
    count: int
    link: str


class HeatmapRead(BaseModel):
    mode: str  # weekday_hour | category_branch
    rows: list[str]
    columns: list[str]
    cells: list[HeatCell]
    total: int
    days: int
    sources: list[str]


class ForecastRead(BaseModel):
    function: str
    measure: str
    label: str
    unit: str
    bucket: str
    enough_history: bool
    message: str
    history_points: int
    needed_points: int
    method: str | None = None
    next_start: date | None = None
    forecast: float | None = None
    lower_80: float | None = None
    upper_80: float | None = None
    lower_95: float | None = None
    upper_95: float | None = None
    mape_pct: float | None = None
    backtest_periods: int = 0
    history: list[Point] = []
    display: str = ""


class BranchForecast(BaseModel):
    branch_id: int
    branch: str
    forecast: ForecastRead


class HourCell(BaseModel):
    weekday: str
    hour: int  # local hour 0-23
    value: float


class HourProfileRead(BaseModel):
    function: str
    measure: str
    label: str
    unit: str
    days: int
    start: date
    end: date  # exclusive
    cells: list[HourCell]
