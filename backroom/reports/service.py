"""Build reports and drilldowns from the metric catalog. Read-only: nothing here writes.

Every branch is cut by its own local period: a daily report over a New York and a Berlin
branch counts each branch's records between its own local midnights. Branches are grouped by
time zone into windows; one aggregate query per (source, grouping) covers all windows with a
disjunction of `branch IN (...) AND at >= start AND at < end`, grouped in the database."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, case, false, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backroom.audit import service as audit
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.branches.models import Branch, Shift
from backroom.errors import InvalidInput
from backroom.money import format_money
from backroom.pagination import MAX_LIMIT, _bad_cursor, _decode, _encode
from backroom.reports import access, catalog, export
from backroom.reports.catalog import DIMENSION_LABELS, Dimension, FunctionReport, Measure, Source, Unit
from backroom.reports.periods import (
    Edition,
    Period,
    bounds,
    local_day_bounds,
    period_for,
    previous,
    zone,
)
from backroom.reports.schemas import (
    BranchPeriod,
    Breakdown,
    BreakdownRow,
    DrilldownRead,
    DrillRow,
    ExceptionRow,
    Figure,
    Links,
    MoneyAmount,
    PeriodRead,
    ReportFilters,
    ReportRead,
    SummaryLine,
)

API_BASE = "/api/v1/reports"
UI_BASE = "/reports"
EXCEPTION_LIMIT = 200
NONE_KEY = ""


@dataclass(frozen=True)
class Window:
    """The branches sharing one time zone, and the UTC interval of the period there."""

    tz: str
    branch_ids: tuple[int, ...]
    start: datetime
    end: datetime
    days: tuple[tuple[date, datetime, datetime], ...]


@dataclass(frozen=True)
class Filters:
    user_id: int | None = None
    shift_ids: tuple[int, ...] | None = None  # None: any shift
    category: str | None = None


@dataclass
class Scope:
    fr: FunctionReport
    period: Period
    branches: dict[int, Branch]
    filters: Filters
    query: dict[str, Any]  # the parameters that name this report in a link

    def windows(self, period: Period | None = None) -> list[Window]:
        period = period or self.period
        by_tz: dict[str, list[int]] = defaultdict(list)
        for b in self.branches.values():
            by_tz[b.timezone].append(b.id)
        out = []
        for tz, ids in sorted(by_tz.items()):
            start, end = bounds(period, tz)
            days = tuple(local_day_bounds(period, tz))
            out.append(Window(tz, tuple(sorted(ids)), start, end, days))
        return out

    @property
    def currencies(self) -> list[str]:
        return sorted({b.currency for b in self.branches.values()})


# --- SQL building ---------------------------------------------------------------------------


def _usable(src: Source, f: Filters) -> bool:
    """Whether the source's records can honour the filters (a filter the records cannot be
    cut by makes the measure unavailable rather than silently wrong)."""
    dims = src.filterable()
    if f.user_id is not None and Dimension.USER not in dims:
        return False
    if f.shift_ids is not None and Dimension.SHIFT not in dims:
        return False
    return not (f.category is not None and Dimension.CATEGORY not in dims)


def _conditions(src: Source, windows: list[Window], f: Filters, *, timed: bool = True) -> list:
    conds = []
    if src.where is not None:
        conds.append(src.where)
    if timed:
        conds.append(
            or_(*(and_(src.branch.in_(w.branch_ids), src.at >= w.start, src.at < w.end) for w in windows))
            if windows
            else false()
        )
    else:
        conds.append(src.branch.in_([b for w in windows for b in w.branch_ids]))
    if f.user_id is not None:
        conds.append(src.user == f.user_id)
    if f.shift_ids is not None:
        conds.append(src.shift.in_(f.shift_ids) if f.shift_ids else false())
    if f.category is not None:
        conds.append(src.category == f.category if src.category is not None else src.in_category(f.category))
    return conds


def _day_key(src: Source, windows: list[Window]):
    whens = []
    for w in windows:
        in_branch = src.branch.in_(w.branch_ids) if len(windows) > 1 else None
        for d, start, end in w.days:
            cond = and_(src.at >= start, src.at < end)
            whens.append((and_(in_branch, cond) if in_branch is not None else cond, literal(d.isoformat())))
    return case(*whens, else_=literal(NONE_KEY))


def _group_key(src: Source, dim: Dimension | None, windows: list[Window]):
    if dim is None:
        return literal(NONE_KEY)
    if dim is Dimension.DAY:
        return _day_key(src, windows)
    return {
        Dimension.BRANCH: src.branch,
        Dimension.USER: src.user,
        Dimension.SHIFT: src.shift,
        Dimension.CATEGORY: src.category,
    }[dim]


def _base_measures(fr: FunctionReport, measures: Iterable[Measure]) -> list[Measure]:
    out: dict[str, Measure] = {}

    def add(m: Measure) -> None:
        if m.ratio:
            for n in m.ratio:
                add(fr.measure(n))
        else:
            out.setdefault(m.name, m)

    for m in measures:
        add(m)
    return list(out.values())


# values[measure][group key][currency or None] = number
Values = dict[str, dict[str, dict[str | None, float]]]


async def _aggregate(
    session: AsyncSession,
    scope: Scope,
    measures: list[Measure],
    windows: list[Window],
    dim: Dimension | None,
) -> tuple[Values, set[str]]:
    """Run one grouped query per source; returns the values and the measures that could not be
    computed under the filters."""
    values: Values = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    unavailable: set[str] = set()
    by_source: dict[int, list[Measure]] = defaultdict(list)
    sources: dict[int, Source] = {}
    for m in _base_measures(scope.fr, measures):
        by_source[id(m.source)].append(m)
        sources[id(m.source)] = m.source
    for sid, ms in by_source.items():
        src = sources[sid]
        if not _usable(src, scope.filters) or (dim is not None and dim not in src.dimensions()):
            unavailable.update(m.name for m in ms)
            continue
        if src.as_of is not None:
            # A balance at the period's end: one query per window (each zone ends at its own time).
            plans = [(src.as_of(w.end), [w], False) for w in windows]
        else:
            plans = [(src, windows, True)]
        for s, ws, timed in plans:
            built = {m.name: _rebind(m, src, s) for m in ms}
            key = _group_key(s, dim, ws).label("k")
            cur = (s.currency if s.currency is not None else literal(None)).label("c")
            stmt = (
                select(key, cur, *(bm.aggregate().label(f"m{i}") for i, bm in enumerate(built.values())))
                .select_from(s.table)
                .where(*_conditions(s, ws, scope.filters, timed=timed))
                .group_by(key, cur)
            )
            for row in (await session.execute(stmt)).all():
                k = NONE_KEY if row.k is None else str(row.k)
                for i, name in enumerate(built):
                    v = row[2 + i]
                    if v is not None:
                        # PostgreSQL sums bigints as numeric: keep whole numbers exact as int.
                        values[name][k][row.c] += int(v) if v == int(v) else float(v)
    return values, unavailable


def _rebind(m: Measure, declared: Source, actual: Source) -> Measure:
    """As-of sources are rebuilt per period end: their measures name columns by key."""
    if declared is actual:
        return m
    col = actual.table.c
    return Measure(
        m.name,
        m.label,
        m.unit,
        source=actual,
        value=col[m.value.key] if m.value is not None else None,
        where=None,
    )


# --- Numbers for people -----------------------------------------------------------------------


def fmt_duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _display(unit: Unit, value: float | None, money: list[MoneyAmount]) -> str:
    if unit is Unit.MONEY:
        return "; ".join(a.display for a in money) or "—"
    if value is None:
        return "—"
    if unit is Unit.COUNT:
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if unit is Unit.DURATION:
        return fmt_duration(value)
    return f"{value * 100:.1f} %"


def _money(per_currency: dict[str | None, float], defaults: list[str]) -> list[MoneyAmount]:
    amounts = {c: round(v) for c, v in per_currency.items() if c is not None}
    for c in defaults:
        amounts.setdefault(c, 0)
    return [
        MoneyAmount(amount_minor=v, currency=c, display=format_money(v, c))
        for c, v in sorted(amounts.items())
    ]


def figure(
    fr: FunctionReport, m: Measure, values: Values, unavailable: set[str], key: str, currencies: list[str]
) -> Figure:
    """One measure's number for one group, from the base values."""
    names = m.ratio or (m.name,)
    if any(n in unavailable for n in names):
        return Figure(available=False, display="—")
    if m.ratio:
        num, den = (values.get(n, {}).get(key, {}) for n in m.ratio)
        if m.unit is Unit.MONEY:
            avg = {c: num.get(c, 0) / d for c, d in den.items() if d and c is not None}
            money = _money(avg, [])
            return Figure(money=money, display=_display(m.unit, None, money))
        total = sum(den.values())
        value = (sum(num.values()) / total) if total else None
        return Figure(value=value, display=_display(m.unit, value, []))
    cells = values.get(m.name, {}).get(key, {})
    if m.unit is Unit.MONEY:
        money = _money(cells, currencies)
        return Figure(money=money, display=_display(m.unit, None, money))
    total = sum(cells.values())
    value: float | int = int(total) if m.unit is Unit.COUNT else float(total)
    return Figure(value=value, display=_display(m.unit, value, []))


def local_str(at: datetime, tz: str) -> str:
    return at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


# --- Scope and links --------------------------------------------------------------------------


async def _scope(
    session: AsyncSession,
    *,
    function: str,
    edition: Edition | str,
    day: date | None,
    branch_ids: list[int] | None,
    user_id: int | None,
    shift_id: int | None,
    shift_ids: list[int] | None,
    category: str | None,
) -> Scope:
    fr = catalog.get(function)
    try:
        edition = Edition(edition)
    except ValueError:
        raise InvalidInput(
            f"{edition!r} is not a report edition; choose daily, weekly or monthly.", field="edition"
        ) from None
    stmt = select(Branch).order_by(Branch.name)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(branch_ids))
    branches = {b.id: b for b in (await session.execute(stmt)).scalars()}
    if branch_ids is not None:
        missing = sorted(set(branch_ids) - set(branches))
        if missing:
            raise InvalidInput(f"There is no branch with id {missing[0]}.", field="branch")
    if day is None:  # today where the (first) branch is
        first = next(iter(branches.values()), None)
        day = datetime.now(zone(first.timezone) if first else UTC).date()
    # A chosen shift narrows the allowed ones (a clerk's own); outside them it shows nothing.
    if shift_id is not None:
        shifts = (shift_id,) if shift_ids is None or shift_id in shift_ids else ()
    else:
        shifts = tuple(shift_ids) if shift_ids is not None else None
    category = category.strip() if category and category.strip() else None
    query = {
        "date": day.isoformat(),
        "branch": sorted(branch_ids) if branch_ids is not None else [],
        "user": user_id,
        "shift": shift_id,
        "category": category,
    }
    return Scope(
        fr,
        period_for(edition, day),
        branches,
        Filters(user_id, shifts, category),
        {k: v for k, v in query.items() if v not in (None, [])},
    )


def _links(scope: Scope, tail: str = "", edition: Edition | None = None, **extra: Any) -> Links:
    params = {**scope.query, **{k: v for k, v in extra.items() if v is not None}}
    qs = urlencode(params, doseq=True)
    path = f"{scope.fr.key}/{edition or scope.period.edition}{tail}"
    return Links(api=f"{API_BASE}/{path}?{qs}", ui=f"{UI_BASE}/{path}?{qs}")


def _drill(scope: Scope, m: Measure, dim: Dimension | None = None, key: str | None = None) -> Links:
    extra: dict[str, Any] = {"measure": m.name}
    edition = None
    if dim is Dimension.DAY:
        extra["date"], edition = key, Edition.DAILY
    elif dim is Dimension.BRANCH:
        extra["branch"] = [key]
    elif dim in (Dimension.USER, Dimension.SHIFT, Dimension.CATEGORY) and key != NONE_KEY:
        extra[dim.value] = key
    return _links(scope, "/drilldown", edition=edition, **extra)


def _period_read(scope: Scope, period: Period) -> PeriodRead:
    out = []
    for b in scope.branches.values():
        start, end = bounds(period, b.timezone)
        tz = zone(b.timezone)
        out.append(
            BranchPeriod(
                branch_id=b.id,
                branch=b.name,
                timezone=b.timezone,
                start_utc=start,
                end_utc=end,
                start_local=start.astimezone(tz),
                end_local=end.astimezone(tz),
                hours=(end - start).total_seconds() / 3600,
            )
        )
    return PeriodRead(
        edition=period.edition,
        label=period.label,
        start_local=period.start_local,
        end_local=period.end_local,
        bounds=out,
    )


# --- Names for breakdown keys -----------------------------------------------------------------


async def _names(session: AsyncSession, scope: Scope, dim: Dimension, keys: set[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k != NONE_KEY and k.lstrip("-").isdigit()]
    if dim is Dimension.BRANCH:
        return {str(i): b.name for i, b in scope.branches.items()}
    if dim is Dimension.USER:
        rows = (await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))).all()
        return {str(i): n for i, n in rows} | {NONE_KEY: "(nobody recorded)"}
    if dim is Dimension.SHIFT:
        return {**await shift_names(session, ids), NONE_KEY: "(no shift)"}
    if dim is Dimension.DAY:
        return {k: date.fromisoformat(k).strftime("%a %d %b %Y") for k in keys if k != NONE_KEY}
    return {k: k or "(no category)" for k in keys}


async def shift_names(session: AsyncSession, ids: list[int]) -> dict[str, str]:
    """ "Dana Clerk, Mon 30 Nov 09:00, Main Street" for each shift id (branch-local time)."""
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(Shift.id, Shift.opened_at, User.full_name, Branch.name, Branch.timezone)
            .join(User, User.id == Shift.user_id)
            .join(Branch, Branch.id == Shift.branch_id)
            .where(Shift.id.in_(ids))
        )
    ).all()
    return {
        str(i): f"{who}, {opened.astimezone(zone(tz)):%a %d %b %H:%M}, {where}"
        for i, opened, who, where, tz in rows
    }


async def _filter_names(session: AsyncSession, scope: Scope, shift_id: int | None) -> ReportFilters:
    f = scope.filters
    user = await session.get(User, f.user_id) if f.user_id is not None else None
    shift = (await shift_names(session, [shift_id])).get(str(shift_id)) if shift_id is not None else None
    return ReportFilters(
        branch_ids=sorted(scope.query["branch"]) if "branch" in scope.query else None,
        branches=[b.name for b in scope.branches.values()],
        user_id=f.user_id,
        user=user.full_name if user else None,
        shift_id=shift_id,
        shift=shift,
        own_shifts_only=f.shift_ids is not None and shift_id is None,
        category=f.category,
    )


# --- The report -------------------------------------------------------------------------------


async def build_report(
    session: AsyncSession,
    *,
    function: str,
    edition: Edition | str,
    day: date | None,
    branch_ids: list[int] | None,
    user_id: int | None = None,
    shift_id: int | None = None,
    category: str | None = None,
    shift_ids: list[int] | None = None,
) -> ReportRead:
    """The function's report for the period of `edition` containing `day` (None: today in the
    first branch's zone): summary beside the
    previous period, breakdowns, exceptions, exact bounds. `branch_ids` None means every branch;
    `shift_ids` (a clerk's own shifts) limits the records to those shifts. Read-only."""
    scope = await _scope(
        session,
        function=function,
        edition=edition,
        day=day,
        branch_ids=branch_ids,
        user_id=user_id,
        shift_id=shift_id,
        shift_ids=shift_ids,
        category=category,
    )
    fr, period = scope.fr, scope.period
    visible = fr.visible()
    prev = previous(period)
    windows = scope.windows()
    cur_values, cur_na = await _aggregate(session, scope, visible, windows, None)
    prev_values, prev_na = await _aggregate(session, scope, visible, scope.windows(prev), None)
    summary = [
        SummaryLine(
            measure=m.name,
            label=m.label,
            unit=m.unit,
            current=figure(fr, m, cur_values, cur_na, NONE_KEY, scope.currencies),
            previous=figure(fr, m, prev_values, prev_na, NONE_KEY, scope.currencies),
            drilldown=_drill(scope, m),
        )
        for m in visible
    ]
    breakdowns = []
    for dim in fr.dimensions():
        if dim is Dimension.DAY and period.edition is Edition.DAILY:
            continue
        if dim is Dimension.BRANCH and len(scope.branches) < 2:
            continue
        ms = [m for m in visible if dim in fr.dimensions_of(m)]
        values, na = await _aggregate(session, scope, ms, windows, dim)
        ms = [m for m in ms if not (set(m.ratio or (m.name,)) & na)]
        if not ms:
            continue
        keys = set().union(*(values.get(n, {}).keys() for m in ms for n in (m.ratio or (m.name,))))
        if dim is Dimension.DAY:
            keys = {d.isoformat() for d in period.days}
        elif dim is Dimension.BRANCH:
            keys |= {str(i) for i in scope.branches}
        keys.discard(NONE_KEY) if dim is Dimension.DAY else None
        names = await _names(session, scope, dim, keys)
        rows = [
            BreakdownRow(
                key=k,
                name=names.get(k, k),
                figures={m.name: figure(fr, m, values, na, k, scope.currencies) for m in ms},
                drilldown={m.name: _drill(scope, m, dim, k) for m in ms},
            )
            for k in keys
        ]
        rows.sort(key=lambda r: r.key if dim is Dimension.DAY else r.name.lower())
        breakdowns.append(
            Breakdown(
                dimension=dim,
                label=f"By {DIMENSION_LABELS[dim].lower()}",
                measures=[m.name for m in ms],
                labels={m.name: m.label for m in ms},
                units={m.name: m.unit for m in ms},
                rows=rows,
            )
        )
    exceptions = await _exceptions(session, scope, windows)
    has_data = bool(exceptions) or any(
        (line.current.value or 0) != 0 or any(a.amount_minor for a in line.current.money) for line in summary
    )
    return ReportRead(
        function=fr.key,
        function_label=fr.label,
        edition=period.edition,
        period=_period_read(scope, period),
        previous_period=_period_read(scope, prev),
        filters=await _filter_names(session, scope, shift_id),
        main_measure=fr.main,
        summary=summary,
        breakdowns=breakdowns,
        exceptions=exceptions,
        generated_at=datetime.now(UTC),
        links=_links(scope),
        has_data=has_data,
    )


def _field_text(kind: str, value: Any, currency: str | None, tz: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return format_money(int(value), currency or "USD")
    if kind == "datetime":
        return local_str(value, tz)
    return str(value)


def _row_fields(src: Source, row: Any, tz: str) -> dict[str, str]:
    cur = getattr(row, "cur", None)
    return {f.label: _field_text(f.kind, row[4 + i], cur, tz) for i, f in enumerate(src.fields)}


def _row_select(src: Source, *extra):
    """id, at, branch, link value, the source's fields, currency: the shape drill rows share."""
    link = src.link[1] if src.link else literal(None)
    cols = [src.id.label("rid"), src.at.label("at"), src.branch.label("bid"), link.label("lnk")]
    cols += [f.expr.label(f"f{i}") for i, f in enumerate(src.fields)]
    if src.currency is not None:
        cols.append(src.currency.label("cur"))
    return select(*cols, *extra).select_from(src.table)


async def _exceptions(session: AsyncSession, scope: Scope, windows: list[Window]) -> list[ExceptionRow]:
    out: list[ExceptionRow] = []
    for el in scope.fr.exceptions:
        src = el.source
        if not _usable(src, scope.filters):
            continue
        stmt = (
            _row_select(src)
            .where(el.where, *_conditions(src, windows, scope.filters))
            .order_by(src.at.desc(), src.id.desc())
            .limit(EXCEPTION_LIMIT)
        )
        for row in (await session.execute(stmt)).all():
            branch = scope.branches[row.bid]
            fields = _row_fields(src, row, branch.timezone)
            out.append(
                ExceptionRow(
                    kind=el.key,
                    kind_label=el.label,
                    record=src.record,
                    record_id=row.rid,
                    at=row.at,
                    at_local=local_str(row.at, branch.timezone),
                    branch=branch.name,
                    description=el.describe(fields),
                    link=src.link[0].format(row.lnk) if src.link and row.lnk is not None else None,
                )
            )
    return out


# --- Drilldown --------------------------------------------------------------------------------


async def drilldown(
    session: AsyncSession,
    *,
    function: str,
    measure: str,
    edition: Edition | str,
    day: date | None,
    branch_ids: list[int] | None,
    user_id: int | None = None,
    shift_id: int | None = None,
    category: str | None = None,
    shift_ids: list[int] | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DrilldownRead:
    """The records behind one number of a report, newest first, one page at a time (keyset on
    (at, id)). A ratio's records are its numerator's. Read-only."""
    scope = await _scope(
        session,
        function=function,
        edition=edition,
        day=day,
        branch_ids=branch_ids,
        user_id=user_id,
        shift_id=shift_id,
        shift_ids=shift_ids,
        category=category,
    )
    fr = scope.fr
    m = fr.measure(measure)
    base = m
    while base.ratio:
        base = fr.measure(base.ratio[0])
    limit = max(1, min(limit, MAX_LIMIT))
    windows = scope.windows()
    items: list[DrillRow] = []
    next_cursor = None
    if _usable(base.source, scope.filters):
        src = base.source
        who = aliased(User)
        if src.as_of is not None:
            plans = [(src.as_of(w.end), [w], False) for w in windows]
        else:
            plans = [(src, windows, True)]
        for s, ws, timed in plans:
            user_col = who.full_name.label("who") if s.user is not None else literal(None).label("who")
            stmt = _row_select(s, user_col).where(*_conditions(s, ws, scope.filters, timed=timed))
            if s.user is not None:
                stmt = stmt.outerjoin(who, who.id == s.user)
            if base.where is not None and s is src:
                stmt = stmt.where(base.where)
            if base.value is not None and s is src:
                stmt = stmt.where(base.value.is_not(None))
            if cursor and timed:
                at, ident = _decode(cursor)
                if not isinstance(at, datetime) or not isinstance(ident, int):
                    raise _bad_cursor()
                stmt = stmt.where(or_(s.at < at, and_(s.at == at, s.id < ident)))
            rows = (await session.execute(stmt.order_by(s.at.desc(), s.id.desc()).limit(limit + 1))).all()
            if timed and len(rows) > limit:
                rows = rows[:limit]
                next_cursor = _encode(rows[-1].at, rows[-1].rid)
            for row in rows[:limit]:
                branch = scope.branches[row.bid]
                items.append(
                    DrillRow(
                        record=s.record,
                        id=row.rid,
                        at=row.at,
                        at_local=local_str(row.at, branch.timezone),
                        branch=branch.name,
                        user=row.who,
                        fields=_row_fields(s, row, branch.timezone),
                        link=s.link[0].format(row.lnk) if s.link and row.lnk is not None else None,
                    )
                )
    return DrilldownRead(
        function=fr.key,
        measure=m.name,
        label=m.label,
        edition=scope.period.edition,
        period=scope.period.label,
        items=items,
        next_cursor=next_cursor,
    )


# --- Export (the one write: its audit event) ---------------------------------------------------


async def export_report(
    session: AsyncSession,
    *,
    principal: Principal,
    function: str,
    edition: Edition | str,
    day: date | None,
    branch_ids: list[int] | None,
    user_id: int | None = None,
    shift_id: int | None = None,
    category: str | None = None,
    fmt: str,
) -> export.Rendered:
    """Render the report as a file for `principal`, who needs ("reports", "export") in every
    branch it covers, and audit who exported what. Not idempotent: each export is one event."""
    scope = await access.resolve(session, principal, branch_ids, action="export")
    report = await build_report(
        session,
        function=function,
        edition=edition,
        day=day,
        branch_ids=scope.branch_ids,
        user_id=user_id,
        shift_id=shift_id,
        category=category,
    )
    rendered = await asyncio.to_thread(export.render, report, fmt)  # WeasyPrint blocks
    await audit.record(
        session,
        actor=principal.actor(),
        action="report.export",
        entity_type="report",
        entity_id=f"{report.function}/{report.edition}/{report.period.label}",
        branch_id=scope.branch_ids[0] if scope.branch_ids and len(scope.branch_ids) == 1 else None,
        after={
            "format": fmt,
            "filename": rendered.filename,
            "branch_ids": scope.branch_ids,
            "filters": report.filters.model_dump(exclude={"branches"}),
            "bytes": len(rendered.content),
            "sha256": hashlib.sha256(rendered.content).hexdigest(),
        },
    )
    return rendered


# --- Choices for the report page's filters ------------------------------------------------------


async def filter_options(
    session: AsyncSession, *, branch_ids: list[int] | None, shift_ids: list[int] | None
) -> dict:
    """Names for the filter pickers: branches, staff, recent shifts, product categories. Read-only."""
    from backroom.auth.models import RoleGrant
    from backroom.catalog.models import Product

    stmt = select(Branch.id, Branch.name).order_by(Branch.name)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(branch_ids))
    branches = [(str(i), n) for i, n in (await session.execute(stmt)).all()]
    users_stmt = (
        select(User.id, User.full_name).where(User.is_active.is_(True)).order_by(User.full_name).limit(300)
    )
    if branch_ids is not None:
        users_stmt = users_stmt.where(
            User.id.in_(
                select(RoleGrant.user_id).where(
                    (RoleGrant.branch_id.in_(branch_ids)) | RoleGrant.branch_id.is_(None)
                )
            )
        )
    users = [(str(i), n) for i, n in (await session.execute(users_stmt)).all()]
    shift_stmt = select(Shift.id).order_by(Shift.opened_at.desc()).limit(60)
    if branch_ids is not None:
        shift_stmt = shift_stmt.where(Shift.branch_id.in_(branch_ids))
    if shift_ids is not None:
        shift_stmt = shift_stmt.where(Shift.id.in_(shift_ids))
    ids = list((await session.execute(shift_stmt)).scalars())
    named = await shift_names(session, ids)
    shifts = [(str(i), named[str(i)]) for i in ids if str(i) in named]
    categories = list(
        (await session.execute(select(Product.category).distinct().order_by(Product.category))).scalars()
    )
    return {"branches": branches, "users": users, "shifts": shifts, "categories": categories}
