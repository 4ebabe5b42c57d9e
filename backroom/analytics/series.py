"""Time series of any catalog measure, bucketed by local day, ISO week or month, or by hour.

The catalog (backroom/reports) answers one number per period; analytics needs a number per
bucket over a window. Each source is aggregated once in the database, grouped by the local day
of each branch's zone (`grain="day"`: (epoch seconds + the zone's UTC offset in that DST
segment) // 86400, the same SQL on SQLite and PostgreSQL, exact across DST changes) or by UTC
hour (`grain="hour"`, put on each zone's local clock by vectorized pandas; whole-hour zones are
exact, half-hour zones would shift up to 30 minutes into the neighbouring local hour).

The SQL comes from the catalog's own declarations: `Measure.aggregate()`, the source's
`at`/`branch`/filters through the report service's condition builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd
from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backroom.analytics.access import load_branches
from backroom.branches.models import Branch
from backroom.db.session import fan_out
from backroom.errors import InvalidInput
from backroom.reports import catalog, rollups, service
from backroom.reports.catalog import FunctionReport, Measure, Unit
from backroom.reports.periods import local_midnight
from backroom.reports.service import (
    Filters,
    Window,
    _base_measures,
    _conditions,
    _no_jit,
    _usable,
    filter_conditions,
    read_rows,
)


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class hour_start(FunctionElement):
    """The UTC hour a timestamp falls in: a UTC wall-clock timestamp on PostgreSQL (date_trunc,
    about twice as cheap per row as formatting), text 'YYYY-MM-DD HH:00:00' on SQLite."""

    inherit_cache = True


@compiles(hour_start)
def _hour_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d %H:00:00', {compiler.process(next(iter(element.clauses)), **kw)})"


@compiles(hour_start, "postgresql")
def _hour_pg(element, compiler, **kw):
    # In UTC whatever the session's TimeZone (a +05:30 session would truncate at half hours).
    return f"date_trunc('hour', {compiler.process(next(iter(element.clauses)), **kw)} AT TIME ZONE 'UTC')"


class epoch_of(FunctionElement):
    """Seconds since 1970 of a (UTC) hour from hour_start, as a number on both databases: one
    vectorized conversion in pandas instead of one datetime object per row."""

    inherit_cache = True


@compiles(epoch_of)
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(next(iter(element.clauses)), **kw)}) AS INTEGER)"


@compiles(epoch_of, "postgresql")
def _epoch_pg(element, compiler, **kw):
    return f"extract(epoch FROM {compiler.process(next(iter(element.clauses)), **kw)})::bigint"


class local_day(FunctionElement):
    """Days since 1970-01-01 on the local calendar: (epoch seconds + UTC offset) // 86400, the
    offset given as an SQL expression (constant between daylight-saving changes)."""

    inherit_cache = True


@compiles(local_day)
def _local_day_sqlite(element, compiler, **kw):
    at, off = (compiler.process(c, **kw) for c in element.clauses)
    return f"((CAST(strftime('%s', {at}) AS INTEGER) + ({off})) / 86400)"


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    at, off = (compiler.process(c, **kw) for c in element.clauses)
    return f"floor((extract(epoch FROM {at}) + ({off})) / 86400)::int"


def offsets(tz: str, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset (seconds) over [start, end) as segments (until, offset); the last
    has until None. Found from the offset at each local midnight, then the hour of the change
    by bisection: a few hundred conversions for a year, not one per hour."""
    from zoneinfo import ZoneInfo

    z = ZoneInfo(tz)

    def off(t: datetime) -> int:
        return int(t.astimezone(z).utcoffset().total_seconds())

    segs: list[tuple[datetime | None, int]] = []
    t, cur = start, off(start)
    while t < end:
        nxt = min(t + timedelta(days=1), end)
        if off(nxt) != cur:
            lo, hi = t, nxt  # the change is in (lo, hi]: bisect to the second
            while (hi - lo) > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if off(mid) == cur else (lo, mid)
            segs.append((hi, cur))
            cur = off(hi)
        t = nxt
    segs.append((None, cur))
    return segs


def window_day(src_at, w: Window):
    """The local day number of `src_at` in the zone of window `w` (a CASE over its DST segments)."""
    segs = offsets(w.tz, w.start, w.end)
    if len(segs) == 1:
        off = literal(segs[0][1])
    else:
        off = case(*((src_at < until, literal(o)) for until, o in segs[:-1]), else_=literal(segs[-1][1]))
    return local_day(src_at, off)


@dataclass
class Scope:
    """What a series covers: one measure, the branches, the drilldown filters, the currency."""

    fr: FunctionReport
    measure: Measure
    branches: dict[int, Branch]
    filters: Filters
    currency: str | None  # money measures: the one currency shown

    @property
    def tz(self) -> str:
        """The zone that decides "today" for the whole selection (the first branch's)."""
        return next(iter(self.branches.values())).timezone if self.branches else "UTC"

    def today(self, now: datetime) -> date:
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(self.tz)).date()

    def windows(self, start: date, end: date) -> list[Window]:
        by_tz: dict[str, list[int]] = {}
        for b in self.branches.values():
            by_tz.setdefault(b.timezone, []).append(b.id)
        return [
            Window(tz, tuple(sorted(ids)), local_midnight(start, tz), local_midnight(end, tz), ())
            for tz, ids in sorted(by_tz.items())
        ]


async def scope_for(
    session: AsyncSession,
    *,
    function: str,
    measure: str,
    branch_ids: list[int] | None,
    user_id: int | None = None,
    shift_ids: list[int] | None = None,
    category: str | None = None,
    currency: str | None = None,
) -> Scope:
    """Check the measure can be charted over time under these filters; pick the currency."""
    fr = catalog.get(function)
    m = fr.measure(measure)
    src = fr.source_of(m)
    if src.as_of is not None:
        raise InvalidInput(
            f"{m.label} is a balance at a moment, not something that happens over time; "
            "it has no trend. Pick another measure.",
            field="measure",
        )
    branches = await load_branches(session, branch_ids)
    category = category.strip() if category and category.strip() else None
    filters = Filters(user_id, tuple(shift_ids) if shift_ids is not None else None, category)
    for base in _base_measures(fr, [m]):
        if not _usable(base.source, filters):
            raise InvalidInput(f"{m.label} cannot be cut by the filters chosen.", field="measure")
    if m.unit is Unit.MONEY:
        currencies = sorted({b.currency for b in branches.values()})
        if currency is None:
            if len(currencies) > 1:
                raise InvalidInput(
                    f"These branches use {', '.join(currencies)}; choose one currency for {m.label}.",
                    field="currency",
                )
            currency = currencies[0] if currencies else "USD"
        currency = currency.upper()
    else:
        currency = None
    return Scope(fr, m, branches, filters, currency)


async def hourly(
    session: AsyncSession,
    scope: Scope,
    start: date,
    end: date,
    *,
    by_branch: bool = False,
    by_currency: bool = False,
    measures: list[Measure] | None = None,
    grain: str = "hour",
) -> pd.DataFrame:
    """Base-measure values per (zone, UTC hour) for local days [start, end): columns `tz`,
    `hour` (UTC, tz-aware), `cur` when `by_currency` (then no currency filter: the caller picks),
    and one column per base measure (plus `branch` when `by_branch`). One grouped query per source.
    `grain="day"` groups by local day in the database instead (column `day`, naive local date):
    24 times fewer rows for the day/week/month views."""
    fr, windows = scope.fr, scope.windows(start, end)
    await _no_jit(session)  # as the reports: compiling the CASE costs more than it saves
    by_source: dict[int, list[Measure]] = {}
    for m in _base_measures(fr, measures or [scope.measure]):
        by_source.setdefault(id(m.source), []).append(m)
    asks = []
    for ms in by_source.values():
        src = ms[0].source
        rollup = rollups.covering(src, ms, scope.filters) if grain == "day" and service.ROLLUPS else None
        if rollup is not None:
            asks.append((_from_rollups(rollup, ms, scope, windows, start, end, by_branch, by_currency), ms))
            continue
        tz_key = (
            case(*((src.branch.in_(w.branch_ids), literal(w.tz)) for w in windows), else_=literal(""))
            if len(windows) > 1
            else literal(windows[0].tz if windows else "")
        ).label("tz")
        if by_branch:
            tz_key = src.branch.label("tz")
        if grain == "day":
            whens = [(src.branch.in_(w.branch_ids), window_day(src.at, w)) for w in windows]
            hour = whens[0][1] if len(whens) == 1 else case(*whens, else_=literal(0))
        else:
            hour = hour_start(src.at)
        keys = [tz_key, hour]
        conds = _conditions(src, windows, scope.filters)
        if by_currency:
            keys.append((src.currency if src.currency is not None else literal("")).label("cur"))
        elif scope.currency is not None and src.currency is not None:
            conds.append(src.currency == scope.currency)
        shown = [tz_key, (hour if grain == "day" else epoch_of(hour)).label("hour"), *keys[2:]]
        stmt = (
            select(*shown, *(m.aggregate().label(m.name) for m in ms))
            .select_from(src.table)
            .where(*conds)
            .group_by(*keys)
        )
        asks.append((stmt, ms))
    index = ["tz", "hour", "cur"] if by_currency else ["tz", "hour"]
    frames = []
    jobs = [stmt if callable(stmt) else read_rows(stmt) for stmt, _ in asks]
    for (stmt, ms), rows in zip(asks, await fan_out(session, jobs), strict=True):
        names = [*index, *(m.name for m in ms)]
        # Columns straight from the rows: pandas probing SQLAlchemy Row objects one by one as
        # mappings costs more than the query on a year of hours.
        cols = list(zip(*rows, strict=False)) or [()] * len(names)
        df = pd.DataFrame(dict(zip(names, cols, strict=True)))
        if callable(stmt) and len(df):
            for c in names[len(index) :]:
                df[c] = pd.to_numeric(df[c], errors="coerce")
            df = df.groupby(index, as_index=False).sum()  # read per branch: one row per zone and day
        frames.append(df.set_index(index))
    if not frames:
        return pd.DataFrame(columns=["tz", "hour"])
    out = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)
    out = out.fillna(0).reset_index()
    for c in out.columns[len(index) :]:
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0).astype(float)
    if grain == "day":
        out = out.rename(columns={"hour": "day"})
        out["day"] = pd.to_datetime(pd.to_numeric(out["day"]), unit="D")
    else:
        out["hour"] = pd.to_datetime(pd.to_numeric(out["hour"]), unit="s", utc=True)
    if by_branch:
        out["branch"] = out["tz"].astype(int)
        out["tz"] = out["branch"].map({i: b.timezone for i, b in scope.branches.items()})
        out = out[["tz", out.columns[1], "branch", *out.columns[2:-1]]]
    return out


def _from_rollups(
    rollup: rollups.Rollup,
    ms: list[Measure],
    scope: Scope,
    windows: list[Window],
    start: date,
    end: date,
    by_branch: bool,
    by_currency: bool,
):
    """A `fan_out` job: the rows `hourly(grain="day")` groups from the records, from the daily
    rollups (rollups.read: clean built days from the rollups, the rest from the records), as
    (zone or branch, local day number, [currency], measures...)."""
    epoch = date(1970, 1, 1)
    zones = {b: w.tz for w in windows for b in w.branch_ids}

    async def run(session: AsyncSession) -> list:
        await _no_jit(session)
        spans = [rollups.Span(w.tz, w.branch_ids, start, end) for w in windows]

        def build(u):
            keys = [u.c.branch, u.c.day, *([u.c.cur] if by_currency else [])]
            return select(*keys, *(func.sum(u.c[f"m{i}"]) for i in range(len(ms)))).group_by(*keys)

        currency = (
            None
            if by_currency or scope.currency is None or rollup.source.currency is None
            else scope.currency
        )
        rows = await rollups.read(
            session,
            rollup,
            ms,
            spans,
            scope.filters,
            filter_conditions(rollup.source, scope.filters),
            build,
            currency=currency,
        )
        out = []
        for row in rows:
            day = row[1] if isinstance(row[1], date) else date.fromisoformat(row[1])
            head = [row[0] if by_branch else zones[row[0]], (day - epoch).days]
            if by_currency:
                head.append(row[2] if row[2] is not None else "")
            out.append((*head, *row[len(head) : len(head) + len(ms)]))
        return out

    return run


def localize(df: pd.DataFrame) -> pd.Series:
    """Each row's local wall-clock time (naive) in its own zone; vectorized per zone."""
    local = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    for tz, idx in df.groupby("tz").groups.items():
        local.loc[idx] = df.loc[idx, "hour"].dt.tz_convert(tz or "UTC").dt.tz_localize(None).values
    return local


def bucket_start(days: pd.Series | pd.DatetimeIndex, bucket: Bucket) -> pd.DatetimeIndex:
    d = pd.DatetimeIndex(days).normalize()
    if bucket is Bucket.WEEK:
        return d - pd.to_timedelta(d.day_of_week, unit="D")
    if bucket is Bucket.MONTH:
        return d - pd.to_timedelta(d.day - 1, unit="D")
    return d


def value_of(fr: FunctionReport, m: Measure, base: pd.DataFrame) -> pd.Series:
    """The measure per row of a frame of base-measure sums (a ratio divides per row)."""
    if m.ratio:
        num, den = (value_of(fr, fr.measure(n), base) for n in m.ratio)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (num / den.where(den != 0)).astype(float)
    return base[m.name] if m.name in base else pd.Series(0.0, index=base.index)


async def base_by_day(session: AsyncSession, scope: Scope, start: date, end: date) -> pd.DataFrame:
    """Base-measure sums per local day over [start, end), every day present (zeros filled)."""
    return day_frame(await hourly(session, scope, start, end, grain="day"), scope, start, end)


def day_frame(
    df: pd.DataFrame,
    scope: Scope,
    start: date,
    end: date,
    measures: list[Measure] | None = None,
    currency: str | None = None,
) -> pd.DataFrame:
    """Sums per local day (every day present); `currency` keeps only that currency's rows of a
    frame fetched `by_currency`."""
    index = pd.date_range(start, end - timedelta(days=1), freq="D")
    cols = [m.name for m in _base_measures(scope.fr, measures or [scope.measure])]
    if currency is not None and "cur" in df:
        df = df[df["cur"] == currency]
    if df.empty:
        return pd.DataFrame(0.0, index=index, columns=cols)
    if "day" not in df:
        df = df.assign(day=localize(df).dt.normalize())
    return df.groupby("day")[cols].sum().reindex(index, fill_value=0.0)


async def base_by_branch_day(
    session: AsyncSession, scope: Scope, start: date, end: date
) -> dict[int, pd.DataFrame]:
    """Like base_by_day, one frame per branch of the scope (one query per source)."""
    df = await hourly(session, scope, start, end, by_branch=True, grain="day")
    groups = dict(tuple(df.groupby("branch"))) if not df.empty else {}
    return {bid: day_frame(groups.get(bid, df.iloc[0:0]), scope, start, end) for bid in scope.branches}


async def series(
    session: AsyncSession, scope: Scope, start: date, end: date, bucket: Bucket = Bucket.DAY
) -> pd.Series:
    """The measure per bucket over local days [start, end): index = bucket start dates."""
    base = await base_by_day(session, scope, start, end)
    grouped = base.groupby(bucket_start(base.index, bucket)).sum()
    return value_of(scope.fr, scope.measure, grouped)


def period_values(
    base: pd.DataFrame, fr: FunctionReport, m: Measure, periods: list[tuple[date, date]]
) -> list[float | None]:
    """The measure over each [start, end) of `periods`, from a by-day base frame covering them."""
    if not periods:
        return []
    starts = np.array([np.datetime64(s) for s, _ in periods])
    ends = np.array([np.datetime64(e) for _, e in periods])
    days = base.index.values.astype("datetime64[D]")
    inside = (days[None, :] >= starts[:, None]) & (days[None, :] < ends[:, None])  # periods x days
    sums = pd.DataFrame(inside.astype(float) @ base.values, columns=base.columns)
    vals = value_of(fr, m, sums)
    return [None if pd.isna(v) else float(v) for v in vals]
