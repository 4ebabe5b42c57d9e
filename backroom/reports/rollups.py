"""Daily rollups of the metric catalog: the sums of a source's base measures per branch-local day
(and user, shift, category, currency), so a month's report reads a few thousand sums instead of
every record. The design and why it is exact: backroom/reports/README.md, "Daily rollups".

- `register(source, measures, tracks)`: a function declares which of its sources' measures are
  rolled up and which mapped classes' writes change those records (`Track`), from its own
  `reports.py`, next to the catalog declarations.
- `on_flush` / `on_commit` (installed by rollup_hook): every flush that writes a tracked row notes
  where the record was and where it is; the commit appends one dirty mark per (source, branch,
  local day) noted, in that transaction.
- `refresh`: rebuilds the dirty days and builds missing closed days from the records (the
  worker's timer, the CLI, the benchmarks).
- `read`: one statement per source that takes the built, clean days from the rollups and every
  other day (today, dirty, never built) from the records, plus a check that the days it took from
  the rollups were still clean in that statement's snapshot (else it reads again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backroom.reports.catalog import Measure, Source, Unit
from backroom.reports.models import ReportRollup as R
from backroom.reports.models import ReportRollupDay as D
from backroom.reports.models import ReportRollupDirty as X
from backroom.reports.models import ReportRollupSource as S
from backroom.reports.periods import local_midnight

BATCH = 1000  # keys per statement when claiming days
RETRIES = 2  # reads again when a day went dirty between listing the clean days and reading them
RECENT_DAYS = 7  # days the timer builds when nobody built them (e.g. a quiet day's rollup)


@dataclass(frozen=True)
class Track:
    """Rows of `cls` whose writes change a source's records, and where such a row puts them: its
    own `branch` and `at` attributes, or (`via` = a foreign key attribute) those of the row it
    points to, read from `parent` = (id, branch, at) columns."""

    cls: type
    branch: str = "branch_id"
    at: str = "created_at"
    via: str | None = None
    parent: tuple[Any, Any, Any] | None = None


@dataclass(eq=False)
class Rollup:
    source: Source
    measures: tuple[Measure, ...]
    tracks: tuple[Track, ...]
    invalidated_by: tuple[Any, ...] = ()  # attributes whose change can alter every day at once

    @property
    def key(self) -> str:
        return self.source.key

    def covers(self, measures: Iterable[Measure]) -> bool:
        ids = {id(m) for m in self.measures}
        return all(id(m) in ids for m in measures)


_BY_KEY: dict[str, Rollup] = {}
_TRACKED: dict[type, list[tuple[Rollup, Track]]] = defaultdict(list)
_INVALIDATORS: dict[type, list[tuple[Rollup, str]]] = defaultdict(list)


def register(
    source: Source,
    measures: Iterable[Measure],
    tracks: Iterable[Track],
    invalidated_by: Iterable[Any] = (),
) -> Rollup:
    """Roll up these base measures of `source` by local day. Each must be a count or an integer
    sum (money in minor units) over that source; `tracks` must name every mapped class whose
    writes change the records or the columns the measures, conditions and dimensions read.
    Idempotent (re-registering replaces)."""
    measures = tuple(measures)
    if source.as_of is not None:
        raise ValueError(f"{source.key}: a balance at a moment has no daily rollup")
    for m in measures:
        if m.ratio or m.source is not source:
            raise ValueError(f"{source.key}.{m.name}: only base measures over this source roll up")
        if m.unit not in (Unit.COUNT, Unit.MONEY):
            raise ValueError(f"{source.key}.{m.name}: only counts and minor-unit sums roll up exactly")
    if len({m.name for m in measures}) != len(measures):
        raise ValueError(f"{source.key}: measure names repeat")
    old = _BY_KEY.get(source.key)
    if old is not None:
        for per_class in (*_TRACKED.values(), *_INVALIDATORS.values()):
            per_class[:] = [(r, t) for r, t in per_class if r is not old]
    rollup = Rollup(source, measures, tuple(tracks), tuple(invalidated_by))
    _BY_KEY[source.key] = rollup
    for t in rollup.tracks:
        _TRACKED[t.cls].append((rollup, t))
    for attr in rollup.invalidated_by:
        _INVALIDATORS[attr.class_].append((rollup, attr.key))
    return rollup


def registered() -> dict[str, Rollup]:
    """Every rollup, after the catalog has discovered the functions' declarations."""
    from backroom.reports import catalog

    catalog.functions()
    return dict(_BY_KEY)


def covering(src: Source, measures: Iterable[Measure], filters: Any) -> Rollup | None:
    """The rollup that can answer these measures of `src` under the filters, if any. A category
    filter needs the category in the rollup's key (line-level sources); record-level sources
    filtered by category are read from the records. Rollup rows have no column for a record
    dimension (a promotion): a source that declares one is always read from its records."""
    rollup = _BY_KEY.get(src.key)
    if src.records:
        return None
    if rollup is None or rollup.source is not src or not rollup.covers(measures):
        return None
    if getattr(filters, "category", None) is not None and src.category is None:
        return None
    return rollup


# --- Marking: in the writing transaction ---------------------------------------------------------


def _values(state, name: str) -> set:
    """The attribute's value before and after this flush (both, when it changed)."""
    hist = state.attrs[name].history
    out = {*hist.added, *hist.unchanged, *hist.deleted}
    if not out and name in state.dict:
        out.add(state.dict[name])
    return {v for v in out if v is not None}


def _local_day(at: datetime, tz: str) -> date:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(tz)).date()


# Branch zones already read, per database (keyed by the connection pool). A branch's zone is
# set when it is created and Backroom never changes it (one edited in the database by hand is
# seen after a restart). Kept only once the transaction that read it has committed: a branch
# created by a transaction that rolled back can leave its id to the next one (SQLite).
_ZONES: WeakKeyDictionary = WeakKeyDictionary()
_READ_ZONES = "rollups.zones_read"  # session.info: (pool, zones) read in this transaction


def _zones(session: Session, conn, branch_ids: set[int]) -> dict[int, str]:
    """The branches' zones: those known from committed transactions, the rest read (one
    statement, and none once every branch has been read; issue 17: it was a read per writing
    transaction)."""
    from backroom.branches.models import Branch

    known = _ZONES.get(conn.engine.pool, {})
    zones = {b: known[b] for b in branch_ids if b in known}
    missing = branch_ids - zones.keys()
    if missing:
        read = dict(conn.execute(select(Branch.id, Branch.timezone).where(Branch.id.in_(missing))).all())
        zones.update(read)
        session.info.setdefault(_READ_ZONES, (conn.engine.pool, {}))[1].update(read)
    return zones


def keep_zones(session: Session) -> None:
    """After a commit: remember the zones the transaction read (they exist for good now)."""
    pool, read = session.info.pop(_READ_ZONES, (None, None))
    if read:
        _ZONES.setdefault(pool, {}).update(read)


def forget_zones(session: Session) -> None:
    session.info.pop(_READ_ZONES, None)


_PENDING = "rollups.pending"  # session.info: (places, via) this transaction's flushes touched


def on_flush(session: Session) -> None:
    """Note every (source, branch, time) this flush's tracked writes touched, before and after
    the change (written as dirty marks once per transaction, by `on_commit`); drop every built
    day of a source whose invalidating attribute changed. Runs inside the flush, so inside the
    write's transaction."""
    if not _BY_KEY:
        registered()
    if not _TRACKED and not _INVALIDATORS:
        return
    places: set[tuple[Rollup, int, datetime]] = set()
    via: dict[tuple[Rollup, Track], set] = defaultdict(set)
    invalid: set[Rollup] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        cls = type(obj)
        tracked, invalidators = _TRACKED.get(cls), _INVALIDATORS.get(cls)
        if not tracked and not invalidators:
            continue
        state = sa_inspect(obj)
        if obj in session.dirty and not session.is_modified(obj):
            continue
        for rollup, t in tracked or ():
            if t.via is not None:
                via[(rollup, t)] |= _values(state, t.via)
                continue
            for b in _values(state, t.branch):
                for at in _values(state, t.at):
                    places.add((rollup, b, at))
        if not state.pending:  # a new row cannot have changed what was already rolled up
            for rollup, name in invalidators or ():
                if state.attrs[name].history.has_changes():
                    invalid.add(rollup)
    if places or via:
        pending_places, pending_via = _pending(session)
        pending_places |= places
        for k, ids in via.items():
            pending_via[k] |= ids
    if not invalid:
        return
    conn = session.connection()
    for rollup in sorted(invalid, key=lambda r: r.key):
        _ensure_source(conn, rollup.key)
        # Waits for refreshers building days of this source (they hold the row FOR SHARE); any
        # refresher after this commit reads the records as they are now.
        conn.execute(update(S).where(S.source == rollup.key).values(invalidated_at=datetime.now(UTC)))
        conn.execute(delete(D).where(D.source == rollup.key))


def note(session: Session | AsyncSession, cls: type, row: Any) -> None:
    """Note the places of a row of `cls` that a bulk statement (UPDATE ... RETURNING) wrote,
    which no flush sees: `row` has the tracks' branch and time attributes, as they are after
    the write. Callers whose write can move a row to another day note it before, too."""
    if not _BY_KEY:
        registered()
    for rollup, t in _TRACKED.get(cls, ()):
        if t.via is not None:
            continue
        b, at = getattr(row, t.branch), getattr(row, t.at)
        if b is not None and at is not None:
            _pending(session)[0].add((rollup, b, at))


def _pending(session: Session | AsyncSession) -> tuple[set, dict]:
    """(places, via ids) this transaction noted so far, kept in session.info until written."""
    return session.info.setdefault(_PENDING, (set(), defaultdict(set)))


def on_commit(session: Session) -> None:
    """Append the dirty marks this transaction's flushes noted: one branch read and one insert
    per transaction (per flush, they were a quarter of an order's statements). Runs before the
    commit, after a last flush, so inside the write's transaction."""
    session.flush()
    _write_marks(session)


async def settle(session: AsyncSession) -> None:
    """Write the marks this transaction noted so far, before it reads or refreshes rollups
    itself (it must see its own writes' days as dirty). Cheap when there are none."""
    await session.flush()
    if _PENDING in session.info:
        await session.run_sync(_write_marks)


def _write_marks(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    places, via = pending
    conn = session.connection()
    for (rollup, t), ids in via.items():
        pid, pbranch, pat = t.parent
        for b, at in conn.execute(select(pbranch, pat).where(pid.in_(ids))).all():
            places.add((rollup, b, at))
    if not places:
        return
    zones = _zones(session, conn, {b for _, b, _ in places})
    marks = sorted({(r.key, b, _local_day(at, zones[b])) for r, b, at in places if b in zones})
    if marks:
        now = datetime.now(UTC)
        conn.execute(
            insert(X), [{"source": s, "branch_id": b, "day": d, "marked_at": now} for s, b, d in marks]
        )


def forget(session: Session) -> None:
    """Drop what a rolled-back transaction noted (its writes are gone)."""
    session.info.pop(_PENDING, None)


def _ensure_source(conn, key: str) -> None:
    ins = pg_insert(S) if conn.dialect.name == "postgresql" else sqlite_insert(S)
    conn.execute(ins.values(source=key).on_conflict_do_nothing())


# --- Refreshing: rebuild days from the records ---------------------------------------------------


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as half-open runs of consecutive days."""
    out: list[list[int]] = []
    for d in sorted(d.toordinal() for d in days):  # integers: date arithmetic is the cost here
        if out and out[-1][1] == d:
            out[-1][1] = d + 1
        else:
            out.append([d, d + 1])
    return [(date.fromordinal(a), date.fromordinal(b)) for a, b in out]


def _day_of(src: Source, by_tz: dict[str, dict[int, set[date]]]):
    """The local day (a DATE) of a record known to fall on one of the given days of its branch:
    per zone a binary tree of CASEs over those days' starts."""

    def tree(starts: list[datetime], days: list[date], lo: int, hi: int):
        if lo == hi:
            return literal(days[lo], Date())
        mid = (lo + hi + 1) // 2
        return case(
            (src.at < starts[mid], tree(starts, days, lo, mid - 1)), else_=tree(starts, days, mid, hi)
        )

    trees = []
    for tz, per_branch in sorted(by_tz.items()):
        days = sorted(set().union(*per_branch.values()))
        starts = [local_midnight(d, tz) for d in days]
        trees.append((sorted(per_branch), tree(starts, days, 0, len(days) - 1)))
    if len(trees) == 1:
        return trees[0][1]
    return case(*((src.branch.in_(ids), t) for ids, t in trees), else_=null())


def _grouped_runs(keys: dict[int, set[date]], zones: dict[int, str] | None = None):
    """((zone, runs of consecutive days), branches) for branches sharing both: usually one group
    per zone, so a condition costs a few comparisons, not a few per branch."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    runs: dict[frozenset, tuple] = {}  # branches of a span share their days: sort them once
    for b, days in sorted(keys.items()):
        days = days if isinstance(days, frozenset) else frozenset(days)
        if days not in runs:
            runs[days] = tuple(_runs(days))
        groups[(zones[b] if zones else None, runs[days])].append(b)
    return sorted(groups.items(), key=lambda kv: kv[1])


def _ranges(src: Source, zones: dict[int, str], keys: dict[int, set[date]]):
    """The records of these (branch, days): one range condition per zone and run of days."""
    return or_(
        *(
            and_(src.branch.in_(bs), src.at >= local_midnight(a, tz), src.at < local_midnight(e, tz))
            for (tz, runs), bs in _grouped_runs(keys, zones)
            for a, e in runs
        )
    )


def _typed_null(col):
    return cast(null(), col.type)


def _key_columns(src: Source):
    """(user, shift, category, currency) of a record; NULL where the source has none."""
    return (
        src.user if src.user is not None else _typed_null(R.user_id),
        src.shift if src.shift is not None else _typed_null(R.shift_id),
        src.category if src.category is not None else _typed_null(R.category),
        src.currency if src.currency is not None else _typed_null(R.currency),
    )


def _per_row(m: Measure):
    """The record's contribution to the measure (summed: a count counts 1 per matching record)."""
    value = literal(1) if m.value is None else m.value
    return value if m.where is None else case((m.where, value), else_=null())


async def _lock_source(session: AsyncSession, key: str) -> None:
    conn = await session.connection()
    await conn.run_sync(_ensure_source, key)
    await session.execute(select(S.source).where(S.source == key).with_for_update(read=True))


async def _zones_async(session: AsyncSession, branch_ids: list[int] | None) -> dict[int, str]:
    from backroom.branches.models import Branch

    stmt = select(Branch.id, Branch.timezone)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(branch_ids))
    return dict((await session.execute(stmt)).all())


async def refresh(
    session: AsyncSession,
    *,
    start: date | None = None,
    end: date | None = None,
    branch_ids: list[int] | None = None,
    sources: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Rebuild every dirty closed day (within [start, end) when given) and build the closed days
    of [start, end) that were never built (default: the last RECENT_DAYS days), from the records.
    Returns the days rebuilt per source. Idempotent; safe beside writers and other refreshers.
    The caller commits."""
    await settle(session)
    now = now or datetime.now(UTC)
    zones = await _zones_async(session, branch_ids)
    if not zones:
        return {}
    if start is None and end is None:
        first = min(now.astimezone(ZoneInfo(tz)).date() for tz in zones.values())
        start, end = first - timedelta(days=RECENT_DAYS), first + timedelta(days=1)
        dirty_anywhere = True
    else:
        dirty_anywhere = False
    out = {}
    for rollup in registered().values():
        if sources is not None and rollup.key not in sources:
            continue
        out[rollup.key] = await _refresh_one(session, rollup, zones, start, end, now, dirty_anywhere)
    return out


def _closed(b: int, d: date, zones: dict[int, str], now: datetime) -> bool:
    return local_midnight(d + timedelta(days=1), zones[b]) <= now


async def _refresh_one(
    session: AsyncSession,
    rollup: Rollup,
    zones: dict[int, str],
    start: date,
    end: date,
    now: datetime,
    dirty_anywhere: bool,
) -> int:
    key = rollup.key
    await _lock_source(session, key)
    in_range = and_(X.day >= start, X.day < end) if not dirty_anywhere else True
    # Marks being written now (uncommitted) are invisible and stay; locked ones are another
    # refresher's: skip them rather than wait (no refresher ever waits on a writer).
    marks = (
        await session.execute(
            select(X.id, X.branch_id, X.day)
            .where(X.source == key, X.branch_id.in_(list(zones)), in_range)
            .with_for_update(skip_locked=True)
        )
    ).all()
    dirty: set[tuple[int, date]] = set()
    claimed_marks = []
    for mid, b, d in marks:
        if _closed(b, d, zones, now):  # an open day is read from the records anyway
            dirty.add((b, d))
            claimed_marks.append(mid)
    built = set(
        (
            await session.execute(
                select(D.branch_id, D.day).where(
                    D.source == key, D.branch_id.in_(list(zones)), D.day >= start, D.day < end
                )
            )
        ).all()
    )
    span = [start + timedelta(days=i) for i in range((end - start).days)]
    missing = {(b, d) for b in zones for d in span if _closed(b, d, zones, now)} - built - dirty
    conn = await session.connection()
    ins = pg_insert(D) if conn.dialect.name == "postgresql" else sqlite_insert(D)
    keys: set[tuple[int, date]] = set()
    # Claim each day by its row in report_rollup_days: a dirty day's row is locked (upsert), a
    # missing one inserted unless another refresher got there first. Sorted: one lock order.
    todo = [(k, True) for k in sorted(dirty)] + [(k, False) for k in sorted(missing)]
    for i in range(0, len(todo), BATCH):
        chunk = todo[i : i + BATCH]
        for rebuild in (True, False):
            rows = [
                {"source": key, "branch_id": b, "day": d, "built_at": now}
                for (b, d), r in chunk
                if r == rebuild
            ]
            if not rows:
                continue
            stmt = ins.values(rows)
            stmt = (
                stmt.on_conflict_do_update(
                    index_elements=[D.source, D.branch_id, D.day], set_={"built_at": now}
                )
                if rebuild
                else stmt.on_conflict_do_nothing()
            )
            got = (await session.execute(stmt.returning(D.branch_id, D.day))).all()
            keys.update((b, d) for b, d in got)
    if keys:
        per_branch: dict[int, set[date]] = defaultdict(set)
        for b, d in keys:
            per_branch[b].add(d)
        for b, days in sorted(per_branch.items()):
            for a, e in _runs(days):
                await session.execute(
                    delete(R).where(R.source == key, R.branch_id == b, R.day >= a, R.day < e)
                )
        await _insert_sums(session, rollup, zones, per_branch)
    for i in range(0, len(claimed_marks), BATCH):
        await session.execute(delete(X).where(X.id.in_(claimed_marks[i : i + BATCH])))
    return len(keys)


async def _insert_sums(
    session: AsyncSession, rollup: Rollup, zones: dict[int, str], keys: dict[int, set[date]]
) -> None:
    """INSERT ... SELECT the days' sums: one grouped scan of the records, one narrow row per
    (group, measure) with a value."""
    src = rollup.source
    by_tz: dict[str, dict[int, set[date]]] = defaultdict(dict)
    for b, days in keys.items():
        by_tz[zones[b]][b] = days
    day = _day_of(src, by_tz).label("day")
    branch = src.branch.label("branch_id")
    user, shift, category, currency = (
        c.label(n)
        for c, n in zip(_key_columns(src), ("user_id", "shift_id", "category", "currency"), strict=True)
    )
    group = [day, branch, user, shift, category, currency]
    sums = [func.sum(_per_row(m)).label(f"m{i}") for i, m in enumerate(rollup.measures)]
    conds = [_ranges(src, zones, keys)]
    if src.where is not None:
        conds.append(src.where)
    g = select(*group, *sums).select_from(src.table).where(*conds).group_by(*group).cte("g")
    cols = ["source", "branch_id", "day", "user_id", "shift_id", "category", "currency", "measure", "value"]
    parts = [
        select(
            literal(rollup.key, String()),
            g.c.branch_id,
            g.c.day,
            g.c.user_id,
            g.c.shift_id,
            g.c.category,
            g.c.currency,
            literal(m.name, String()),
            g.c[f"m{i}"],
        ).where(g.c[f"m{i}"].is_not(None))
        for i, m in enumerate(rollup.measures)
    ]
    await session.execute(insert(R).from_select(cols, union_all(*parts)))


# --- Reading: clean built days from the rollups, the rest from the records -------------------------


@dataclass(frozen=True)
class Span:
    """Branches of one zone and the local days [first, end) to read for them."""

    tz: str
    branch_ids: tuple[int, ...]
    first: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.end - self.first).days)]


def _day_conds(col_branch, col_day, keys: dict[int, set[date]]):
    return or_(
        *(
            and_(col_branch.in_(bs), col_day >= a, col_day < e)
            for (_, runs), bs in _grouped_runs(keys)
            for a, e in runs
        )
    )


def _span_keys(spans: list[Span]) -> dict[int, frozenset[date]]:
    out: dict[int, frozenset[date]] = {}
    for s in spans:
        days = frozenset(s.days)
        out.update((b, days) for b in s.branch_ids)
    return out


def _clean_days(key: str, keys: dict[int, set[date]]):
    """The built days among `keys` with no dirty mark (a subquery: branch_id, day)."""
    mark = select(X.id).where(X.source == D.source, X.branch_id == D.branch_id, X.day == D.day)
    return (
        select(D.branch_id, D.day)
        .where(D.source == key, _day_conds(D.branch_id, D.day, keys), ~exists(mark))
        .subquery("clean")
    )


async def clean_days(
    session: AsyncSession, rollup: Rollup, keys: dict[int, frozenset[date]]
) -> dict[int, set[date]]:
    """(branch -> days) of `keys` (`_span_keys`) whose rollups can be read now."""
    if not keys:
        return {}
    await settle(session)
    c = _clean_days(rollup.key, keys)
    out: dict[int, set[date]] = defaultdict(set)
    conn = await session.connection()  # plain rows: the ORM's row handling costs more than the query
    for b, d in (await conn.execute(select(c.c.branch_id, c.c.day))).all():
        out[b].add(d if isinstance(d, date) else date.fromisoformat(d))
    return out


def _rollup_filters(filters: Any, currency: str | None) -> list:
    conds = []
    if getattr(filters, "user_id", None) is not None:
        conds.append(R.user_id == filters.user_id)
    shift_ids = getattr(filters, "shift_ids", None)
    if shift_ids is not None:
        conds.append(R.shift_id.in_(shift_ids) if shift_ids else false())
    if getattr(filters, "category", None) is not None:
        conds.append(R.category == filters.category)
    if currency is not None:
        conds.append(R.currency == currency)
    return conds


def merged(
    rollup: Rollup,
    measures: list[Measure],
    spans: list[Span],
    clean: dict[int, set[date]],
    filters: Any,
    raw_filters: list,
    currency: str | None = None,
    keys: dict[int, frozenset[date]] | None = None,
):
    """(u, check, expected): `u` a subquery of the spans' records, one row per rollup row of a
    clean day and per record of any other day, with columns day, branch, user, shift, category,
    cur and m0..mk (each measure's contribution); `check` counts, in the same statement, the
    clean days still clean (None when no day is read from the rollups); `expected` their number."""
    src = rollup.source
    names = [m.name for m in measures]
    arms = []
    check = None
    expected = sum(len(d) for d in clean.values())
    if expected:
        c = _clean_days(rollup.key, clean)
        arms.append(
            select(
                R.day.label("day"),
                R.branch_id.label("branch"),
                R.user_id.label("user"),
                R.shift_id.label("shift"),
                R.category.label("category"),
                R.currency.label("cur"),
                *(case((R.measure == n, R.value), else_=null()).label(f"m{i}") for i, n in enumerate(names)),
            )
            .join(c, and_(c.c.branch_id == R.branch_id, c.c.day == R.day))
            .where(
                R.source == rollup.key,
                _day_conds(R.branch_id, R.day, clean),
                R.measure.in_(names),
                *_rollup_filters(filters, currency),
            )
        )
        check = select(func.count()).select_from(c).scalar_subquery()
    zones = {b: s.tz for s in spans for b in s.branch_ids}
    keys = _span_keys(spans) if keys is None else keys
    stale = {b: days - clean.get(b, set()) for b, days in keys.items() if days - clean.get(b, set())}
    if stale:
        by_tz: dict[str, dict[int, set[date]]] = defaultdict(dict)
        for b, days in stale.items():
            by_tz[zones[b]][b] = days
        user, shift, category, cur = _key_columns(src)
        conds = [_ranges(src, zones, stale), *raw_filters]
        if src.where is not None:
            conds.append(src.where)
        if currency is not None and src.currency is not None:
            conds.append(src.currency == currency)
        arms.append(
            select(
                _day_of(src, by_tz).label("day"),
                src.branch.label("branch"),
                user.label("user"),
                shift.label("shift"),
                category.label("category"),
                cur.label("cur"),
                *(_per_row(m).label(f"m{i}") for i, m in enumerate(measures)),
            )
            .select_from(src.table)
            .where(*conds)
        )
    if not arms:
        return None, None, 0
    u = (arms[0] if len(arms) == 1 else union_all(*arms)).subquery("u")
    return u, check, expected


async def read(
    session: AsyncSession,
    rollup: Rollup,
    measures: list[Measure],
    spans: list[Span],
    filters: Any,
    raw_filters: list,
    build: Callable[[Any], Any],
    currency: str | None = None,
) -> list:
    """Rows of `build(u)` (a grouped SELECT over `merged`'s subquery; two check columns may
    follow its own): the same numbers as from the records alone, in one statement's snapshot. If a day
    read from the rollups was marked dirty between listing the clean days and the read, reads
    again (the last time from the records only)."""
    keys = _span_keys(spans)
    conn = await session.connection()  # plain rows, as clean_days
    serial = False  # parallel workers off for this transaction (PostgreSQL)
    rows: list = []
    for attempt in range(RETRIES + 1):
        clean = await clean_days(session, rollup, keys) if attempt < RETRIES else {}
        u, check, expected = merged(rollup, measures, spans, clean, filters, raw_filters, currency, keys)
        if u is None:
            rows = []
            break
        stmt = build(u)
        if check is None:  # the records only: may be a big scan, parallel as usual
            await _parallel(conn, serial, on=True)
            serial = False
            rows = list((await conn.execute(stmt)).all())
            break
        # Mostly rollup rows (a few thousand): starting parallel workers costs more than it
        # saves, and the dashboard runs several of these reads at once on the same cores.
        serial = await _parallel(conn, serial, on=False)
        # The check rides on a row of its own (LEFT JOIN), so an empty answer is known clean
        # too, and `found` tells the answer's rows from it.
        g = stmt.add_columns(literal_column("1").label("found")).subquery("g")
        chk = select(check.label("clean_days")).subquery("chk")
        rows = (
            await conn.execute(select(*g.c, chk.c.clean_days).select_from(chk.outerjoin(g, true())))
        ).all()
        if rows and rows[0][-1] == expected:
            rows = [r for r in rows if r[-2] is not None]
            break
    await _parallel(conn, serial, on=True)  # the session's later statements: as before
    return rows


async def _parallel(conn, serial: bool, *, on: bool) -> bool:
    """Turn PostgreSQL's parallel workers off (`on=False`) or back on for the transaction, if
    that changes anything; returns whether they are off now."""
    if conn.dialect.name != "postgresql" or serial != on:
        return serial
    setting = "TO DEFAULT" if on else "= 0"
    await conn.execute(text(f"SET LOCAL max_parallel_workers_per_gather {setting}"))
    return not on


def day_label(value) -> str:
    """A day column's value as "2026-11-30" ("" for none)."""
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else value.isoformat()


async def run(maker, *, every: float) -> None:
    """Refresh every `every` seconds until cancelled (beside the worker): each round, in its own
    transaction, the dirty days anywhere and the last RECENT_DAYS closed days not built yet."""
    import asyncio
    import logging

    log = logging.getLogger("backroom.reports.rollups")
    while True:
        try:
            async with maker.begin() as session:
                built = await refresh(session)
            if any(built.values()):
                log.info("rollups rebuilt: %s", {k: v for k, v in built.items() if v})
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the loop; the next round retries
            log.exception("rollup refresh round failed")
        await asyncio.sleep(every)
