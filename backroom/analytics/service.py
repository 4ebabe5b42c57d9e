"""Analytics use cases (read-only): trend, variance against baselines and targets, forecast,
and the exception heatmap. Sums come from the database grouped by hour; everything after that
is vectorized pandas/numpy; the forecast is statsmodels ETS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from backroom.analytics import forecast as fc
from backroom.analytics import targets as targets_svc
from backroom.analytics.schemas import (
    BranchForecast,
    ForecastRead,
    HourCell,
    HourProfileRead,
    Point,
    TrendRead,
    VarianceLine,
    VarianceRead,
)
from backroom.analytics.series import (
    Bucket,
    Scope,
    base_by_branch_day,
    base_by_day,
    bucket_start,
    hourly,
    localize,
    period_values,
    value_of,
)
from backroom.errors import InvalidInput
from backroom.reports.periods import Edition, Period, period_for, previous

WINDOWS = (7, 30, 90, 365)
MOVING_AVERAGE = {Bucket.DAY: 7, Bucket.WEEK: 4, Bucket.MONTH: 3}
HISTORY_BUCKETS = {Bucket.DAY: 120, Bucket.WEEK: 104, Bucket.MONTH: 36}
TRAILING = 4  # periods in the trailing-average baseline
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _bucket(value: str) -> Bucket:
    try:
        return Bucket(value)
    except ValueError:
        raise InvalidInput("Bucket is one of: day, week, month.", field="bucket") from None


def _edition(value: str) -> Edition:
    try:
        return Edition(value)
    except ValueError:
        raise InvalidInput("Period is one of: daily, weekly, monthly.", field="edition") from None


EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


def check_day(day: date) -> None:
    """Dates people can mean; far ones would only overflow the calendar arithmetic."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput("Choose a date between 1970 and 2999.", field="date")


def show(scope: Scope, value: float | None) -> str:
    return targets_svc.display(scope.measure.unit, value, scope.currency)


def _none(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


# --- Trend -------------------------------------------------------------------------------------


async def trend(
    session, scope: Scope, *, window_days: int, bucket: str, now: datetime | None = None
) -> TrendRead:
    """The measure per bucket over the last `window_days` local days (today included, marked
    partial), with a moving average, the least-squares slope and the change first to last."""
    if window_days not in WINDOWS:
        raise InvalidInput("Window is one of 7, 30, 90 or 365 days.", field="window")
    b = _bucket(bucket)
    today = scope.today(now or datetime.now(UTC))
    end = today + timedelta(days=1)
    start = bucket_start(pd.DatetimeIndex([end - timedelta(days=window_days)]), b)[0].date()
    base = await base_by_day(session, scope, start, end)
    grouped = base.groupby(bucket_start(base.index, b)).sum()
    values = value_of(scope.fr, scope.measure, grouped)
    k = MOVING_AVERAGE[b]
    ma = values.rolling(k, min_periods=k).mean()
    complete = values.iloc[:-1].dropna()
    slope = change = None
    if len(complete) >= 2:
        slope = float(np.polyfit(np.arange(len(complete)), complete.values, 1)[0])
        first, last = complete.iloc[0], complete.iloc[-1]
        change = float((last - first) / abs(first) * 100) if first else None
    total = value_of(scope.fr, scope.measure, base.sum().to_frame().T).iloc[0]
    points = [
        Point(start=i.date(), value=_none(v), moving_average=_none(a), partial=n == len(values) - 1)
        for n, (i, v, a) in enumerate(zip(values.index, values.values, ma.values, strict=True))
    ]
    return TrendRead(
        function=scope.fr.key,
        measure=scope.measure.name,
        label=scope.measure.label,
        unit=scope.measure.unit,
        currency=scope.currency,
        window_days=window_days,
        bucket=b,
        start=start,
        end=end,
        points=points,
        moving_average_buckets=k,
        slope_per_bucket=slope,
        change_pct=change,
        total=_none(total),
        display_total=show(scope, _none(total)),
    )


# --- Variance ----------------------------------------------------------------------------------


def same_period_last_year(period: Period) -> Period:
    """Daily and weekly: 52 weeks earlier (same weekday, same ISO week); monthly: same month."""
    if period.edition is Edition.MONTHLY:
        s = period.start_local
        return period_for(Edition.MONTHLY, s.replace(year=s.year - 1))
    return period_for(period.edition, period.start_local - timedelta(days=364))


async def variance(
    session,
    scope: Scope,
    *,
    edition: str,
    day: date,
    tolerance_pct: float = 10.0,
) -> VarianceRead:
    """The measure for the period containing `day` against the previous period, the same
    period last year, the trailing average of the previous periods and the branch target(s);
    absolute and % variance, flagged outside the tolerance."""
    if not 0 <= tolerance_pct <= 1000:
        raise InvalidInput("Tolerance is a percentage between 0 and 1000.", field="tolerance")
    check_day(day)
    period = period_for(_edition(edition), day)
    trailing = [previous(period)]
    for _ in range(TRAILING - 1):
        trailing.append(previous(trailing[-1]))
    last_year = same_period_last_year(period)
    near = await base_by_day(session, scope, trailing[-1].start_local, period.end_local)
    far = await base_by_day(session, scope, last_year.start_local, last_year.end_local)
    fr, m = scope.fr, scope.measure
    current, *prev_values = period_values(
        near, fr, m, [(p.start_local, p.end_local) for p in [period, *trailing]]
    )
    (ly,) = period_values(far, fr, m, [(last_year.start_local, last_year.end_local)])
    known = [v for v in prev_values if v is not None]
    trailing_avg = float(np.mean(known)) if known else None
    targets = await targets_svc.targets_for(
        session,
        function=fr.key,
        measure=m.name,
        edition=period.edition,
        period_label=period.label,
        branch_ids=list(scope.branches),
    )
    target = None
    higher = True
    if targets and len(targets) == len(scope.branches) and (len(targets) == 1 or not m.ratio):
        target = float(sum(t.value for t in targets.values()))
        higher = next(iter(targets.values())).higher_is_better
    lines = []
    for key, label, per, value in (
        ("previous_period", "Previous period", trailing[0].label, prev_values[0]),
        ("last_year", "Same period last year", last_year.label, ly),
        (
            "trailing_average",
            f"Average of the {TRAILING} periods before",
            f"{trailing[-1].label} to {trailing[0].label}",
            trailing_avg,
        ),
        ("target", "Target", period.label, target),
    ):
        var = pct = None
        if value is not None and current is not None:
            var = current - value
            pct = var / abs(value) * 100 if value else None
        lines.append(
            VarianceLine(
                baseline=key,
                label=label,
                period=per,
                value=value,
                display=show(scope, value)
                if value is not None
                else ("no target set" if key == "target" else "—"),
                variance=var,
                variance_pct=pct,
                outside_tolerance=pct is not None and abs(pct) > tolerance_pct,
                favourable=None if var is None else (var >= 0) == higher,
            )
        )
    return VarianceRead(
        function=fr.key,
        measure=m.name,
        label=m.label,
        unit=m.unit,
        edition=period.edition,
        period=period.label,
        current=current,
        display=show(scope, current),
        tolerance_pct=tolerance_pct,
        lines=lines,
    )


# --- Forecast ----------------------------------------------------------------------------------


def _history_range(scope: Scope, b: Bucket, now: datetime) -> tuple[date, date]:
    """Complete buckets only: history ends where the current bucket starts."""
    today = scope.today(now)
    end = bucket_start(pd.DatetimeIndex([today]), b)[0].date()
    n = HISTORY_BUCKETS[b]
    if b is Bucket.DAY:
        start = end - timedelta(days=n)
    elif b is Bucket.WEEK:
        start = end - timedelta(weeks=n)
    else:
        start = (pd.Timestamp(end) - pd.DateOffset(months=n)).date()
    return start, end


def _read(scope: Scope, b: Bucket, y: pd.Series, r: fc.Result, next_start: date) -> ForecastRead:
    return ForecastRead(
        function=scope.fr.key,
        measure=scope.measure.name,
        label=scope.measure.label,
        unit=scope.measure.unit,
        bucket=b,
        enough_history=r.enough,
        message=r.message,
        history_points=r.n,
        needed_points=r.needed,
        method=r.method,
        next_start=next_start if r.enough else None,
        forecast=r.mean,
        lower_80=r.lower_80,
        upper_80=r.upper_80,
        lower_95=r.lower_95,
        upper_95=r.upper_95,
        mape_pct=r.mape_pct,
        backtest_periods=r.backtest,
        history=[Point(start=i.date(), value=_none(v)) for i, v in y.iloc[-60:].items()],
        display=show(scope, r.mean) if r.enough else "not enough history",
    )


def _trim_leading(y: pd.Series) -> pd.Series:
    """History starts at the first bucket with any data (a new branch has no zeros before it)."""
    nz = np.flatnonzero(y.fillna(0).values != 0)
    return y.iloc[nz[0] :] if len(nz) else y.iloc[0:0]


async def forecast(
    session, scope: Scope, *, bucket: str = "day", now: datetime | None = None
) -> ForecastRead:
    """Next bucket's forecast with 80%/95% intervals and back-test MAPE, or "not enough history"."""
    b = _bucket(bucket)
    start, end = _history_range(scope, b, now or datetime.now(UTC))
    base = await base_by_day(session, scope, start, end)
    grouped = base.groupby(bucket_start(base.index, b)).sum()
    y = _trim_leading(value_of(scope.fr, scope.measure, grouped))
    return _read(scope, b, y, fc.forecast(y, b), end)


async def forecast_by_branch(
    session, scope: Scope, *, bucket: str = "day", now: datetime | None = None
) -> list[BranchForecast]:
    """One forecast per branch of the scope: one query, one parameter fit on the total."""
    b = _bucket(bucket)
    start, end = _history_range(scope, b, now or datetime.now(UTC))
    frames = await base_by_branch_day(session, scope, start, end)
    ys = {
        bid: _trim_leading(value_of(scope.fr, scope.measure, f.groupby(bucket_start(f.index, b)).sum()))
        for bid, f in frames.items()
    }
    results = fc.forecast_many(ys, b)
    return [
        BranchForecast(
            branch_id=bid,
            branch=scope.branches[bid].name,
            forecast=_read(scope, b, ys[bid], results[bid], end),
        )
        for bid in scope.branches
    ]


# --- Hour-of-day profile -------------------------------------------------------------------------


async def hour_profile(
    session, scope: Scope, *, days: int = 28, now: datetime | None = None
) -> HourProfileRead:
    """The measure's average per local weekday x hour over the last `days` complete days
    (e.g. when orders come in), from the same hourly sums as the trend."""
    if not 7 <= days <= 366:
        raise InvalidInput("Days is between 7 and 366.", field="days")
    today = scope.today(now or datetime.now(UTC))
    start = today - timedelta(days=days)
    df = await hourly(session, scope, start, today)
    cells: list[HourCell] = []
    if not df.empty:
        local = localize(df)
        base = (
            df.assign(dow=local.dt.day_of_week, hour=local.dt.hour)
            .groupby(["dow", "hour"])
            .sum(numeric_only=True)
        )
        per_cell = value_of(scope.fr, scope.measure, base)
        # Averages per occurrence of the weekday in the window (ratios are already per cell).
        occurrences = pd.Series(pd.date_range(start, today - timedelta(days=1)).day_of_week).value_counts()
        if not scope.measure.ratio:
            per_cell = per_cell / per_cell.index.get_level_values("dow").map(occurrences).to_numpy()
        cells = [
            HourCell(weekday=WEEKDAY_NAMES[d], hour=h, value=float(v))
            for (d, h), v in per_cell.dropna().items()
        ]
    return HourProfileRead(
        function=scope.fr.key,
        measure=scope.measure.name,
        label=scope.measure.label,
        unit=scope.measure.unit,
        days=days,
        start=start,
        end=today,
        cells=cells,
    )
