"""Build reports and drilldowns from the metric catalog. Read-only, except `export_report`'s
audit event.

Every branch is cut by its own local period: a daily report over a New York and a Berlin
branch counts each branch's records between its own local midnights. Branches are grouped by
time zone into windows. Per source, ONE query covers the current and the previous period in
every window (`branch IN (...) AND at >= start AND at < end`, OR-ed), labels each row with its
local day by a CASE tree ("" = previous period), and groups in the database: with GROUPING
SETS on PostgreSQL (one set per breakdown), or by every dimension at once on SQLite; the
summary and breakdowns are then rolled up here. That is exact because every base measure is a
count or a sum; ratios and averages are computed from those sums afterwards."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Date, and_, case, false, func, literal, null, or_, select, text, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backroom.audit import service as audit
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.branches.models import Branch, Shift
from backroom.db.session import fan_out, is_postgres
from backroom.errors import InvalidInput, NotFound, Refused
from backroom.money import format_money
from backroom.pagination import MAX_LIMIT, _bad_cursor, _decode, _encode
from backroom.reports import access, catalog, export, rollups
from backroom.reports.catalog import (
    DIMENSION_LABELS,
    RECORD_DIMENSIONS,
    Dimension,
    FunctionReport,
    Measure,
    Source,
    Unit,
)
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
from backroom.text import words

API_BASE = "/api/v1/reports"
UI_BASE = "/reports"
EXCEPTION_LIMIT = 200
MAX_ROWS = 100  # rows of a staff or shift breakdown; the rest are summed into one
GROUPING_SETS = True  # PostgreSQL: one GROUPING SETS query per source instead of a fine cube
ROLLUPS = True  # read clean built days from the daily rollups (False: every number from the records)
NONE_KEY = ""
OTHER_KEY = "*"


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
    records: tuple[tuple[Dimension, int], ...] = ()  # (record dimension, id): one promotion...


@dataclass
class Scope:
    fr: FunctionReport
    period: Period
    branches: dict[int, Branch]
    filters: Filters
    query: dict[str, Any]  # the parameters that name this report in a link
    drill_base: dict = field(default_factory=dict)  # (dimension, key) -> drilldown links without the measure
    personal: bool = True  # exceptions name people (False for a stored snapshot)

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
    if any(dim not in dims for dim, _ in f.records):
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
    return conds + filter_conditions(src, f)


def filter_conditions(src: Source, f: Filters) -> list:
    """The drilldown filters (staff member, shifts, category) as conditions on the records."""
    conds = []
    if f.user_id is not None:
        conds.append(src.user == f.user_id)
    if f.shift_ids is not None:
        conds.append(src.shift.in_(f.shift_ids) if f.shift_ids else false())
    if f.category is not None:
        conds.append(src.category == f.category if src.category is not None else src.in_category(f.category))
    for dim, record_id in f.records:
        conds.append(src.records[dim].column == record_id)
    return conds


def _day_key(src: Source, windows: list[Window]):
    """The record's local day ("2026-11-30") in its branch's zone, "" before the period: a
    binary tree of CASEs over the day boundaries, so each row costs ~log2(days) comparisons
    whatever the database (SQLite has no time zones)."""
    return _day_tree(src, tuple(windows))


@lru_cache(maxsize=256)
def _day_tree(src: Source, windows: tuple[Window, ...]):
    # Built once per (source, period, branches): a month's tree is ~60 CASE nodes per zone.

    def tree(bounds: list[datetime], labels: list[str], lo: int, hi: int):
        if lo == hi:
            return literal(labels[lo])
        mid = (lo + hi) // 2
        return case(
            (src.at < bounds[mid], tree(bounds, labels, lo, mid)), else_=tree(bounds, labels, mid + 1, hi)
        )

    trees = []
    for w in windows:
        bounds = [start for _, start, _ in w.days] + [w.days[-1][2]]
        labels = [NONE_KEY, *(d.isoformat() for d, _, _ in w.days), NONE_KEY]
        trees.append((w, tree(bounds, labels, 0, len(labels) - 1)))
    if len(trees) == 1:
        return trees[0][1]
    return case(*((src.branch.in_(w.branch_ids), t) for w, t in trees), else_=literal(NONE_KEY))


def _group_key(src: Source, dim: Dimension | None, windows: list[Window]):
    if dim is None:
        return literal(NONE_KEY)
    if dim is Dimension.DAY:
        return _day_key(src, windows)
    if dim in RECORD_DIMENSIONS:
        return src.records[dim].column
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


CUR, PREV = "cur", "prev"
# The dimensions grouped as columns of their own; record dimensions are never in the rollups
# (rollups.covering sends their sources to the records).
_DIM_COLUMNS = {
    Dimension.USER: "user",
    Dimension.SHIFT: "shift",
    Dimension.CATEGORY: "category",
    **{d: d.value for d in sorted(RECORD_DIMENSIONS)},
}


@dataclass
class Cube:
    """Base measure values by (period, dimension), rolled up from one fine-grained query per
    source. Every base measure is a count or a sum, so the rollup is exact."""

    values: dict[tuple[str, Dimension | None], Values]
    unavailable: dict[Dimension | None, set[str]]

    def get(self, period: str, dim: Dimension | None) -> tuple[Values, set[str]]:
        return self.values.get((period, dim), {}), self.unavailable.get(dim, set())


def _number(v) -> int | float:
    # PostgreSQL sums bigints as numeric: keep whole numbers exact as int.
    return int(v) if v == int(v) else float(v)


async def _no_jit(session: AsyncSession) -> None:
    """PostgreSQL would JIT-compile the report's wide CASE expressions on big tables, which costs
    seconds for queries that run in tens of milliseconds; for this transaction only, don't."""
    if is_postgres(session):
        await session.execute(text("SET LOCAL jit = off"))


def _add(values: dict, period: str, keys: dict, names: list[str], currency, row_values) -> None:
    """Add one result row to every (period, dimension) it rolls up into."""
    for dim, key in keys.items():
        cell = values[(period, dim)]
        for name, v in zip(names, row_values, strict=True):
            if v is not None:
                cell[name][key][currency] += _number(v)


async def _cube(
    session: AsyncSession, scope: Scope, measures: list[Measure], cur: list[Window], prev: list[Window]
) -> Cube:
    """One query per source over [previous start, current end) in each zone, grouped by
    period, local day, branch, user, shift, category and currency; rolled up here into the
    summary and every breakdown. As-of sources (balances at the period end) are asked per
    zone and period, by branch."""
    values: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
    unavailable: dict = defaultdict(set)
    every = (None, *Dimension)
    by_source: dict[int, list[Measure]] = defaultdict(list)
    sources: dict[int, Source] = {}
    for m in _base_measures(scope.fr, measures):
        by_source[id(m.source)].append(m)
        sources[id(m.source)] = m.source
    jobs: list[tuple[Any, Callable[[Any], None]]] = []
    for sid, ms in by_source.items():
        src, names = sources[sid], [m.name for m in ms]
        if not _usable(src, scope.filters):
            for dim in every:
                unavailable[dim].update(names)
            continue
        dims = src.dimensions()
        for dim in Dimension:
            if dim not in dims:
                unavailable[dim].update(names)

        if src.as_of is not None:
            for period, windows in ((CUR, cur), (PREV, prev)):
                for w in windows:
                    s = src.as_of(w.end)
                    built = [_rebind(m, src, s) for m in ms]
                    b = s.branch.label("b")
                    c = (s.currency if s.currency is not None else literal(None)).label("cur")
                    # A balance with a category (members by tier, by segment) is cut by it too.
                    k = (s.category if s.category is not None else literal(NONE_KEY)).label("k")
                    stmt = (
                        select(b, c, k, *(bm.aggregate() for bm in built))
                        .select_from(s.table)
                        .where(*_conditions(s, [w], scope.filters, timed=False))
                        .group_by(b, c, k)
                    )
                    jobs.append((stmt, partial(_take_as_of, values, period, names, s.category is not None)))
            continue
        rollup = rollups.covering(src, ms, scope.filters) if ROLLUPS else None
        if rollup is not None:
            # Same rows as below, from the rollups for every clean built day (rollups.read).
            extra = [(dim, literal(None).label(label)) for dim, label in _DIM_COLUMNS.items() if dim in dims]
            sets = GROUPING_SETS and is_postgres(session) and bool(extra)
            job = partial(_rollup_rows, rollup, ms, scope, cur, prev, [d for d, _ in extra], sets)
            take = _take_sets if sets else _take_rows
            jobs.append((job, partial(take, values, names, extra, 2 + len(extra) + 1 + sets)))
            continue
        span = [Window(c.tz, c.branch_ids, p.start, c.end, ()) for c, p in zip(cur, prev, strict=True)]
        # The day key is "" before the current period: that is the period column too.
        day = _day_key(src, cur).label("day")
        branch = src.branch.label("branch")
        extra = [
            (dim, _group_key(src, dim, cur).label(label))
            for dim, label in _DIM_COLUMNS.items()
            if dim in dims
        ]
        currency = (src.currency if src.currency is not None else literal(None)).label("cur")
        columns = [day, branch, *(col for _, col in extra), currency]
        aggregates = [m.aggregate() for m in ms]
        where = _conditions(src, span, scope.filters)
        if GROUPING_SETS and is_postgres(session) and extra:
            # One scan, one grouping per breakdown (GROUPING SETS): (day, branch) gives the
            # summary, the days and the branches; (day, user), (day, shift), (day, category) the rest.
            sets = [tuple_(day, branch, currency), *(tuple_(day, col, currency) for _, col in extra)]
            grouped = [branch, *(col for _, col in extra)]
            stmt = (
                select(*columns, func.grouping(*grouped).label("gset"), *aggregates)
                .select_from(src.table)
                .where(*where)
                .group_by(func.grouping_sets(*sets))
            )
            jobs.append((stmt, partial(_take_sets, values, names, extra, len(columns) + 1)))
            continue
        stmt = select(*columns, *aggregates).select_from(src.table).where(*where).group_by(*columns)
        jobs.append((stmt, partial(_take_rows, values, names, extra, len(columns))))
    await _run_all(session, jobs)
    return Cube(values, unavailable)


def _take_as_of(values: dict, period: str, names: list[str], by_category: bool, rows) -> None:
    for row in rows:
        keys = {None: NONE_KEY, Dimension.BRANCH: str(row[0])}
        if by_category:
            keys[Dimension.CATEGORY] = row[2]
        _add(values, period, keys, names, row[1], row[3:])


def _take_sets(values: dict, names: list[str], extra: list, n: int, rows) -> None:
    width = len(extra) + 1
    for row in rows:
        m = row._mapping
        day = rollups.day_label(m["day"])
        period = CUR if day else PREV
        # GROUPING() sets a bit per column aggregated away; the one left at 0 is the set's.
        kept = next(i for i in range(width) if not (m["gset"] >> (width - 1 - i)) & 1)
        if kept == 0:
            at = {None: NONE_KEY, Dimension.BRANCH: str(m["branch"])}
            if period == CUR:
                at[Dimension.DAY] = day
        else:
            dim, col = extra[kept - 1]
            if period == PREV:
                continue
            value = m[col.name]
            at = {dim: NONE_KEY if value is None else str(value)}
        _add(values, period, at, names, m["cur"], row[n : n + len(names)])


def _take_rows(values: dict, names: list[str], extra: list, n: int, rows) -> None:
    for row in rows:
        m = row._mapping
        day = rollups.day_label(m["day"])
        period = CUR if day else PREV
        at = {None: NONE_KEY, Dimension.BRANCH: str(m["branch"])}
        if period == CUR:
            at[Dimension.DAY] = day
        for dim, col in extra:
            at[dim] = NONE_KEY if m[col.name] is None else str(m[col.name])
        _add(values, period, at, names, m["cur"], row[n : n + len(names)])


async def _rollup_rows(
    rollup: rollups.Rollup,
    ms: list[Measure],
    scope: Scope,
    cur: list[Window],
    prev: list[Window],
    dims: list[Dimension],
    sets: bool,
    session: AsyncSession,
) -> list:
    """The rows `_cube` would group from the records, grouped from `rollups.read` instead: the
    previous and the current period's local days in each zone, day NULL before the period."""
    await _no_jit(session)
    spans = [
        rollups.Span(c.tz, c.branch_ids, p.days[0][0], c.days[-1][0] + timedelta(days=1))
        for c, p in zip(cur, prev, strict=True)
    ]
    start = scope.period.start_local

    def build(u):
        day = case((u.c.day >= literal(start, Date()), u.c.day), else_=null()).label("day")
        branch, cur_col = u.c.branch.label("branch"), u.c.cur.label("cur")
        extra = [u.c[_DIM_COLUMNS[d]].label(_DIM_COLUMNS[d]) for d in dims]
        sums = [func.sum(u.c[f"m{i}"]) for i in range(len(ms))]
        if sets:
            grouped = [branch, *extra]
            groups = [tuple_(day, branch, cur_col), *(tuple_(day, col, cur_col) for col in extra)]
            return select(
                day, branch, *extra, cur_col, func.grouping(*grouped).label("gset"), *sums
            ).group_by(func.grouping_sets(*groups))
        return select(day, branch, *extra, cur_col, *sums).group_by(day, branch, *extra, cur_col)

    raw_filters = filter_conditions(rollup.source, scope.filters)
    return await rollups.read(session, rollup, ms, spans, scope.filters, raw_filters, build)


def read_rows(stmt) -> Callable[[AsyncSession], Awaitable[list]]:
    """A `fan_out` job: the rows of one report statement (jit off, as `_no_jit`)."""

    async def run(s: AsyncSession) -> list:
        await _no_jit(s)
        return list((await s.execute(stmt)).all())

    return run


async def _run_all(session: AsyncSession, jobs: list[tuple[Any, Callable[[Any], None]]]) -> None:
    """Run each job's statement (at once where `fan_out` can) and hand its rows to the job's
    handler, one answer at a time."""
    results = await fan_out(session, [stmt if callable(stmt) else read_rows(stmt) for stmt, _ in jobs])
    for (_, take), rows in zip(jobs, results, strict=True):
        take(rows)


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
        MoneyAmount.model_construct(amount_minor=v, currency=c, display=format_money(v, c))
        for c, v in sorted(amounts.items())
    ]


def figure(
    fr: FunctionReport, m: Measure, values: Values, unavailable: set[str], key: str, currencies: list[str]
) -> Figure:
    """One measure's number for one group, from the base values."""
    names = m.ratio or (m.name,)
    if any(n in unavailable for n in names):
        return Figure.model_construct(available=False, display="—", value=None, money=[])
    if m.ratio:
        num, den = (values.get(n, {}).get(key, {}) for n in m.ratio)
        if m.unit is Unit.MONEY:
            avg = {c: num.get(c, 0) / d for c, d in den.items() if d and c is not None}
            money = _money(avg, [])
            return _fig(None, money, m.unit)
        total = sum(den.values())
        value = (sum(num.values()) / total) if total else None
        return _fig(value, [], m.unit)
    cells = values.get(m.name, {}).get(key, {})
    if m.unit is Unit.MONEY:
        return _fig(None, _money(cells, currencies), m.unit)
    total = sum(cells.values())
    value: float | int = int(total) if m.unit is Unit.COUNT else float(total)
    return _fig(value, [], m.unit)


def _fig(value: float | int | None, money: list[MoneyAmount], unit: Unit) -> Figure:
    # Built from the database's numbers, already typed: no validation pass per cell.
    return Figure.model_construct(
        value=value, money=money, display=_display(unit, value, money), available=True
    )


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
    record_ids: dict[Dimension, int] | None = None,
) -> Scope:
    fr = catalog.get(function)
    records = tuple(sorted((Dimension(d), i) for d, i in (record_ids or {}).items() if i is not None))
    for dim, _ in records:
        if dim not in RECORD_DIMENSIONS or dim not in fr.filterable():
            raise Refused(
                f"This report cannot be broken down by {DIMENSION_LABELS[dim].lower()}.",
                field=dim.value,
            )
    try:
        edition = Edition(edition)
    except ValueError:
        raise InvalidInput(
            f"{edition!r} is not a report edition; choose daily, weekly or monthly.", field="edition"
        ) from None
    for name, ids in (
        ("branch", branch_ids or []),
        ("user", [user_id]),
        ("shift", [shift_id, *(shift_ids or [])]),
        *((dim.value, [i]) for dim, i in records),
    ):
        if any(i is not None and not 0 < i < 2**63 for i in ids):
            raise InvalidInput(f"Choose a {name} from the list; that one does not exist.", field=name)
    stmt = select(Branch).order_by(Branch.name)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(branch_ids))
    branches = {b.id: b for b in (await session.execute(stmt)).scalars()}
    if branch_ids is not None:
        missing = sorted(set(branch_ids) - set(branches))
        if missing:
            raise NotFound(f"There is no branch with id {missing[0]}.", field="branch")
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
        **{dim.value: i for dim, i in records},
    }
    return Scope(
        fr,
        period_for(edition, day),
        branches,
        Filters(user_id, shifts, category, records),
        {k: v for k, v in query.items() if v not in (None, [])},
    )


def _links(scope: Scope, tail: str = "", edition: Edition | None = None, **extra: Any) -> Links:
    params = {**scope.query, **{k: v for k, v in extra.items() if v is not None}}
    qs = urlencode(params, doseq=True)
    path = f"{scope.fr.key}/{edition or scope.period.edition}{tail}"
    return Links.model_construct(api=f"{API_BASE}/{path}?{qs}", ui=f"{UI_BASE}/{path}?{qs}")


def _top(values: Values, ms: list[Measure], keys: set[str], dim: Dimension) -> tuple[set[str], int]:
    """At most MAX_ROWS rows for staff and shifts (a month of every branch's shifts is thousands):
    the largest by the first measure, the rest summed into one row under OTHER_KEY (every base
    measure is a count or a sum, so the merged row is exact). Returns (kept keys, merged count)."""
    if dim not in (Dimension.USER, Dimension.SHIFT, *RECORD_DIMENSIONS) or len(keys) <= MAX_ROWS:
        return keys, 0
    first = ms[0].ratio[0] if ms[0].ratio else ms[0].name
    ranked = sorted(keys, key=lambda k: (-sum(values.get(first, {}).get(k, {}).values()), k))
    kept, rest = set(ranked[: MAX_ROWS - 1]), ranked[MAX_ROWS - 1 :]
    for per_key in values.values():
        merged: dict = defaultdict(int)
        for k in rest:
            for currency, v in per_key.get(k, {}).items():
                merged[currency] += v
        if merged:
            per_key[OTHER_KEY] = merged
    return kept, len(rest)


def _drill(scope: Scope, m: Measure, dim: Dimension | None = None, key: str | None = None) -> Links:
    """The records behind one number: the report's own query plus the row's dimension value."""
    cached = scope.drill_base.get((dim, key))
    if cached is None:
        extra: dict[str, Any] = {}
        edition = None
        if dim is Dimension.DAY:
            extra["date"], edition = key, Edition.DAILY
        elif dim is Dimension.BRANCH:
            extra["branch"] = [key]
        elif dim in (Dimension.USER, Dimension.SHIFT, Dimension.CATEGORY, *RECORD_DIMENSIONS) and key not in (
            NONE_KEY,
            OTHER_KEY,
        ):
            extra[dim.value] = key
        base = _links(scope, "/drilldown", edition=edition, **extra)
        cached = scope.drill_base[(dim, key)] = (base.api, base.ui)
    tail = "&" + urlencode({"measure": m.name})
    return Links.model_construct(api=cached[0] + tail, ui=cached[1] + tail)


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
        return {k: date.fromisoformat(k).strftime("%a %d %b") for k in keys if k != NONE_KEY}
    if dim in RECORD_DIMENSIONS:
        return {**await record_names(session, scope.fr, dim, ids), NONE_KEY: f"(no {dim.value})"}
    return {k: k or "(no category)" for k in keys}


async def record_names(
    session: AsyncSession, fr: FunctionReport, dim: Dimension, ids: list[int]
) -> dict[str, str]:
    """The names of a record dimension's records (promotions) by id, as the report declares them."""
    k = fr.keyed(dim)
    if k is None or not ids:
        return {}
    rows = (await session.execute(select(k.id, k.name).where(k.id.in_(ids)))).all()
    return {str(i): n for i, n in rows}


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
    records = {}
    for dim, i in f.records:
        name = (await record_names(session, scope.fr, dim, [i])).get(str(i))
        if name is None:
            raise NotFound(f"There is no {dim.value} with id {i}.", field=dim.value)
        records[dim.value] = {"id": i, "label": DIMENSION_LABELS[dim], "name": name}
    return ReportFilters(
        branch_ids=sorted(scope.query["branch"]) if "branch" in scope.query else None,
        branches=[b.name for b in scope.branches.values()],
        user_id=f.user_id,
        user=user.full_name if user else None,
        shift_id=shift_id,
        shift=shift,
        own_shifts_only=f.shift_ids is not None and shift_id is None,
        category=f.category,
        records=records,
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
    personal: bool = True,
    record_ids: dict[Dimension, int] | None = None,
) -> ReportRead:
    """The function's report for the period of `edition` containing `day` (None: today in the
    first branch's zone): summary beside the
    previous period, breakdowns, exceptions, exact bounds. `branch_ids` None means every branch;
    `shift_ids` (a clerk's own shifts) limits the records to those shifts; without `personal`
    the exceptions name no customer (a snapshot kept for good); `record_ids` filters by records
    of the function's own ({Dimension.PROMOTION: id}; refused if the report has no such
    dimension). Read-only."""
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
        record_ids=record_ids,
    )
    scope.personal = personal
    fr, period = scope.fr, scope.period
    visible = fr.visible()
    await _no_jit(session)
    prev = previous(period)
    windows = scope.windows()
    cube = await _cube(session, scope, visible, windows, scope.windows(prev))
    cur_values, cur_na = cube.get(CUR, None)
    prev_values, prev_na = cube.get(PREV, None)
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
        values, na = cube.get(CUR, dim)
        ms = [m for m in ms if not (set(m.ratio or (m.name,)) & na)]
        if not ms:
            continue
        keys = set().union(*(values.get(n, {}).keys() for m in ms for n in (m.ratio or (m.name,))))
        if dim is Dimension.DAY:
            keys = {d.isoformat() for d in period.days}
        elif dim is Dimension.BRANCH:
            keys |= {str(i) for i in scope.branches}
        keys.discard(NONE_KEY) if dim is Dimension.DAY else None
        keys, other = _top(values, ms, keys, dim)
        names = await _names(session, scope, dim, keys)
        if other:
            names[OTHER_KEY] = f"{other:,} more {fr.dimension_label(dim).lower()}s together"
            keys.add(OTHER_KEY)

        def defaults(key: str, dim: Dimension = dim) -> list[str]:
            # A branch with nothing shows 0 in its own currency; other rows only what they hold.
            branch = scope.branches.get(int(key)) if dim is Dimension.BRANCH else None
            return [branch.currency] if branch else []

        rows = [
            BreakdownRow(
                key=k,
                name=names.get(k, k),
                figures={m.name: figure(fr, m, values, na, k, defaults(k)) for m in ms},
                drilldown={m.name: _drill(scope, m, dim, k) for m in ms},
            )
            for k in keys
        ]
        # Days in order; others by name, the merged rest last.
        rows.sort(key=lambda r: (r.key == OTHER_KEY, r.key if dim is Dimension.DAY else r.name.lower()))
        breakdowns.append(
            Breakdown(
                dimension=dim,
                label=f"By {fr.dimension_label(dim).lower()}",
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
    if kind == "code":  # a stored status or kind: "payment_failed" -> "Payment failed"
        return words(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _row_fields(src: Source, row: Any, tz: str, personal: bool = True) -> dict[str, str]:
    """A record's fields as people read them; without `personal`, a person's name reads "a
    customer" (what a stored snapshot keeps)."""
    cur = getattr(row, "cur", None)
    return {
        f.label: _field_text(f.kind, row[4 + i], cur, tz)
        if personal or not f.personal
        else f"a {f.label.lower()}"
        for i, f in enumerate(src.fields)
    }


def _row_select(src: Source, *extra):
    """id, at, branch, link value, the source's fields, currency: the shape drill rows share."""
    link = src.link[1] if src.link else literal(None)
    cols = [src.id.label("rid"), src.at.label("at"), src.branch.label("bid"), link.label("lnk")]
    cols += [f.expr.label(f"f{i}") for i, f in enumerate(src.fields)]
    if src.currency is not None:
        cols.append(src.currency.label("cur"))
    return select(*cols, *extra).select_from(src.table)


def _plans(src: Source, windows: list[Window]) -> list[tuple[Source, list[Window], bool]]:
    """(source, windows, timed) to list records from: an as-of source is rebuilt per zone at its
    period end and is not time-filtered; any other source covers all windows at once."""
    if src.as_of is not None:
        return [(src.as_of(w.end), [w], False) for w in windows]
    return [(src, windows, True)]


async def _exceptions(session: AsyncSession, scope: Scope, windows: list[Window]) -> list[ExceptionRow]:
    out: list[ExceptionRow] = []
    for el in scope.fr.exceptions:
        if not _usable(el.source, scope.filters):
            continue
        for src, ws, timed in _plans(el.source, windows):
            stmt = _row_select(src).where(*_conditions(src, ws, scope.filters, timed=timed))
            if el.where is not None and src is el.source:
                stmt = stmt.where(el.where)
            stmt = stmt.order_by(src.at.desc(), src.id.desc()).limit(EXCEPTION_LIMIT)
            for row in (await session.execute(stmt)).all():
                branch = scope.branches[row.bid]
                fields = _row_fields(src, row, branch.timezone, scope.personal)
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
    record_ids: dict[Dimension, int] | None = None,
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
        record_ids=record_ids,
    )
    fr = scope.fr
    m = fr.measure(measure)
    base = m
    while base.ratio:
        base = fr.measure(base.ratio[0])
    limit = max(1, min(limit, MAX_LIMIT))
    windows = scope.windows()
    await _no_jit(session)
    items: list[DrillRow] = []
    next_cursor = None
    if _usable(base.source, scope.filters):
        src = base.source
        who = aliased(User)
        for s, ws, timed in _plans(src, windows):
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
                if not isinstance(at, datetime) or at.tzinfo is None or not isinstance(ident, int):
                    raise _bad_cursor()
                if isinstance(ident, bool) or not -(2**63) <= ident < 2**63:
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
    record_ids: dict[Dimension, int] | None = None,
) -> export.Rendered:
    """Render the report as a file for `principal`, who needs ("reports", "export") in every
    branch it covers, and audit who exported what. Not idempotent: each export is one event."""
    scope = await access.resolve(session, principal, branch_ids, action="export", function=function)
    report = await build_report(
        session,
        function=function,
        edition=edition,
        day=day,
        branch_ids=scope.branch_ids,
        user_id=user_id,
        shift_id=shift_id,
        category=category,
        record_ids=record_ids,
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
    session: AsyncSession,
    *,
    branch_ids: list[int] | None,
    shift_ids: list[int] | None,
    fr: FunctionReport | None = None,
) -> dict:
    """Names for the filter pickers: branches, staff, recent shifts, product categories, and the
    report `fr`'s own records it can be broken down by (promotions), as (dimension, label,
    [(id, name)]). Read-only."""
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
    out = {"branches": branches, "users": users, "shifts": shifts, "categories": categories, "records": []}
    if fr is not None:
        for dim in fr.dimensions():
            k = fr.keyed(dim) if dim in RECORD_DIMENSIONS else None
            if k is not None:
                pick = select(k.id, k.name).order_by(k.name, k.id).limit(300)
                if branch_ids is not None:
                    # The reader's records: owned by their branches or found in the report there.
                    used = [
                        select(src.records[dim].column)
                        .select_from(src.table)
                        .where(src.branch.in_(branch_ids))
                        for src in fr.sources()
                        if dim in src.records
                    ]
                    mine = k.id.in_(union(*used)) if len(used) > 1 else k.id.in_(used[0])
                    pick = pick.where(or_(mine, k.owner.in_(branch_ids)) if k.owner is not None else mine)
                rows = (await session.execute(pick)).all()
                out["records"].append((dim.value, DIMENSION_LABELS[dim], [(str(i), n) for i, n in rows]))
    return out
