"""The metric catalog: every function declares here what can be counted and summed over its own
tables, and by what it can be cut. Reports, drilldowns, exports, snapshots, dashboards and
analytics all read from this one place.

A function registers from its own domain (`backroom/<domain>/reports.py`, found through
`backroom.plugins.each_domain("reports")`) by calling `register(FunctionReport(...))`.

- A `Source` is a set of records: a table (or join) with the columns that place one record in
  time (`at`, UTC), in a branch, and, where the records carry them, with a user, a shift, a
  currency and a product category.
- A `Measure` is an aggregate over one source: a count of records or a sum of a column, limited
  by an optional condition, or a ratio of two other measures of the function. All SQL is built
  with SQLAlchemy Core from these declarations; filters and grouping are bound parameters.
- An `ExceptionList` is a source plus a condition: the records people should look at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Integer, case, cast, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.sql.functions import FunctionElement

from backroom.errors import NotFound


class Unit(StrEnum):
    COUNT = "count"
    MONEY = "money"  # integer minor units, per currency
    DURATION = "duration"  # seconds
    RATIO = "ratio"  # 0..1


class Dimension(StrEnum):
    DAY = "day"  # the branch's own local day
    BRANCH = "branch"
    USER = "user"
    SHIFT = "shift"
    CATEGORY = "category"
    PROMOTION = "promotion"  # a record dimension (RECORD_DIMENSIONS): see `Keyed`


# Dimensions that are a record of a function's own (a promotion): a source declares them in
# `Source.records`, with the column holding the record's id and the name people see.
RECORD_DIMENSIONS = frozenset({Dimension.PROMOTION})


DIMENSION_LABELS = {
    Dimension.DAY: "Day",
    Dimension.BRANCH: "Branch",
    Dimension.USER: "Staff member",
    Dimension.SHIFT: "Shift",
    Dimension.CATEGORY: "Category",
    Dimension.PROMOTION: "Promotion",
}


@dataclass(frozen=True)
class Keyed:
    """How a source's records are cut by a record of the function's own: `column` holds that
    record's id on each row; `id` and `name` are the named table's columns, so breakdowns,
    filters and exports show the name, never the id."""

    column: ColumnElement
    id: ColumnElement
    name: ColumnElement
    owner: ColumnElement | None = None  # the named record's own branch, if it has one


@dataclass(frozen=True)
class Field:
    """A column shown when the records behind a number are listed."""

    label: str
    expr: ColumnElement
    kind: str = "text"  # text | money | datetime | number | code (a status or kind, shown as words)
    # A person's name or contact: left out of what is stored for good (report snapshots), so
    # erasing the customer leaves nothing behind there.
    personal: bool = False


@dataclass(frozen=True, eq=False)
class Source:
    """Records a function's measures aggregate over. `at` is the moment that puts a record in a
    period (UTC); `branch` the branch whose local calendar decides the period."""

    key: str
    record: str  # what one row is, in people's words: "order", "payment"
    table: FromClause
    id: ColumnElement
    at: ColumnElement
    branch: ColumnElement
    where: ColumnElement | None = None
    user: ColumnElement | None = None
    shift: ColumnElement | None = None
    currency: ColumnElement | None = None
    category: ColumnElement | None = None  # line-level sources: the product's category
    in_category: Callable[[str], ColumnElement] | None = None  # record-level sources that carry products
    fields: tuple[Field, ...] = ()
    link: tuple[str, ColumnElement] | None = None  # UI path template with one "{}" and its value
    # Balances at a moment (e.g. overdue at period end): built per period end, no time window.
    as_of: Callable[[datetime], Source] | None = None
    # Dimensions the records can be filtered by but that are not worth a breakdown of their own
    # (e.g. order lines by shift: the orders' breakdown already shows it, at a fraction of the cost).
    filter_only: frozenset[Dimension] = frozenset()
    # Record dimensions (RECORD_DIMENSIONS) the records can be broken down and filtered by.
    records: dict[Dimension, Keyed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not set(self.records) <= RECORD_DIMENSIONS:
            raise ValueError(f"{self.key}: only record dimensions go in records=, not {set(self.records)}")

    def dimensions(self) -> set[Dimension]:
        return (
            self.filterable() - self.filter_only - ({Dimension.CATEGORY} if self.category is None else set())
        )

    def filterable(self) -> set[Dimension]:
        dims = {Dimension.BRANCH}
        if self.as_of is None:
            dims.add(Dimension.DAY)
        if self.user is not None:
            dims.add(Dimension.USER)
        if self.shift is not None:
            dims.add(Dimension.SHIFT)
        if self.category is not None or self.in_category is not None:
            dims.add(Dimension.CATEGORY)
        return dims | set(self.records)


def sources(**common) -> Callable[..., Source]:
    """A maker of a function's sources over the same records (table, id, branch, fields,
    link...): each source differs only by its key, the moment that puts a record in a period,
    its filter, and what it overrides (e.g. the user it counts for). Pure."""

    def make(key: str, at: ColumnElement, where: ColumnElement | None = None, **over) -> Source:
        return Source(key=key, at=at, where=where, **{**common, **over})

    return make


@dataclass(frozen=True, eq=False)
class Measure:
    """One number of a report. Either an aggregate over `source` (count the records, or sum
    `value`, of those matching `where`) or `ratio` = (numerator, denominator) measure names:
    a RATIO of two counts, an average MONEY (money / count, per currency) or an average DURATION
    (seconds / count)."""

    name: str
    label: str
    unit: Unit
    source: Source | None = None
    value: ColumnElement | None = None
    where: ColumnElement | None = None
    ratio: tuple[str, str] | None = None
    hidden: bool = False  # a building block of a ratio, not shown on its own
    description: str = ""

    def aggregate(self) -> ColumnElement:
        """The SQL aggregate for one group (count or sum, with the measure's condition)."""
        agg = func.count(self.source.id) if self.value is None else func.sum(self.value)
        return agg.filter(self.where) if self.where is not None else agg


@dataclass(frozen=True, eq=False)
class ExceptionList:
    """Records of the period people should look at (breached, failed, refused...)."""

    key: str
    label: str
    source: Source
    where: ColumnElement | None  # None: every record of the source (e.g. an as-of balance's rows)
    describe: Callable[[dict], str]  # one line for people from the row's fields (by label)


@dataclass(eq=False)
class FunctionReport:
    """A function's report set: its measures (in display order), exception lists, main measure."""

    key: str
    label: str
    measures: list[Measure]
    exceptions: list[ExceptionList] = field(default_factory=list)
    main: str = ""  # the measure charted in the PDF; the first visible one if empty
    order: int = 50
    permission: str = ""  # the Casbin function whose "list" a reader also needs; the key if empty
    # What this report's category dimension stands for ("Tier", "Segment"); products' category if empty.
    category_label: str = ""

    def __post_init__(self) -> None:
        names = {m.name for m in self.measures}
        for m in self.measures:
            if m.ratio and not set(m.ratio) <= names:
                raise ValueError(f"{self.key}.{m.name}: ratio of unknown measures {m.ratio}")
            if m.ratio is None and m.source is None:
                raise ValueError(f"{self.key}.{m.name}: needs a source or a ratio")
        if not self.main:
            self.main = self.visible()[0].name
        if not self.permission:
            self.permission = self.key

    def dimension_label(self, dim: Dimension) -> str:
        if dim is Dimension.CATEGORY and self.category_label:
            return self.category_label
        return DIMENSION_LABELS[dim]

    def keyed(self, dim: Dimension) -> Keyed | None:
        """How the report names the records of a record dimension (the first source declaring it)."""
        return next((s.records[dim] for s in self.sources() if dim in s.records), None)

    def filterable(self) -> set[Dimension]:
        """Every dimension some visible measure can be filtered by."""
        return set().union(*(self.filterable_by(m) for m in self.visible()))

    def measure(self, name: str) -> Measure:
        for m in self.measures:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.visible())
        raise NotFound(f"The {self.label} report has no measure {name!r}. Known: {known}.")

    def visible(self) -> list[Measure]:
        return [m for m in self.measures if not m.hidden]

    def source_of(self, m: Measure) -> Source:
        """The source a measure's records come from (a ratio's: its numerator's)."""
        while m.ratio:
            m = self.measure(m.ratio[0])
        return m.source

    def dimensions_of(self, m: Measure) -> set[Dimension]:
        if m.ratio:
            a, b = (self.measure(n) for n in m.ratio)
            return self.dimensions_of(a) & self.dimensions_of(b)
        return m.source.dimensions()

    def filterable_by(self, m: Measure) -> set[Dimension]:
        if m.ratio:
            a, b = (self.measure(n) for n in m.ratio)
            return self.filterable_by(a) & self.filterable_by(b)
        return m.source.filterable()

    def dimensions(self) -> list[Dimension]:
        dims = set().union(*(self.dimensions_of(m) for m in self.visible()))
        return [d for d in Dimension if d in dims]

    def sources(self) -> list[Source]:
        seen: dict[int, Source] = {}
        for m in self.measures:
            if m.source is not None:
                seen.setdefault(id(m.source), m.source)
        return list(seen.values())


_REGISTRY: dict[str, FunctionReport] = {}
_discovered = False


def register(report: FunctionReport) -> FunctionReport:
    """Add (or replace, on re-import) a function's report set. Idempotent."""
    _REGISTRY[report.key] = report
    return report


def functions() -> dict[str, FunctionReport]:
    """Every registered report set, in display order. Discovers `backroom/<domain>/reports.py` once."""
    global _discovered
    if not _discovered:
        from backroom.plugins import each_domain

        each_domain("reports")
        _discovered = True
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get(function: str) -> FunctionReport:
    found = functions().get(function)
    if found is None:
        known = ", ".join(functions())
        raise NotFound(f"There is no report set called {function!r}. Reports exist for: {known}.")
    return found


# --- SQL helpers the domains use in their declarations ----------------------------------------


class seconds_between(FunctionElement):
    """Seconds from `start` to `end` (NULL if either is NULL), on PostgreSQL and SQLite."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0"
    )


@compiles(seconds_between, "postgresql")
def _seconds_pg(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


def audit_source(
    key: str,
    record: str,
    actions: tuple[str, ...],
    *,
    link: tuple[str, ColumnElement] | None = None,
    table: FromClause | None = None,
    fields: tuple[Field, ...] = (),
    category: ColumnElement | None = None,
) -> Source:
    """Events read from the audit chain (merges, erasures, holds, limit changes): exact times,
    the branch recorded on the event, and the staff member when a person did it; `category`
    cuts them by a value of the event (e.g. the tier a member moved to)."""
    from backroom.audit.models import AuditEvent as A

    return Source(
        key=key,
        record=record,
        table=table if table is not None else A.__table__,
        id=A.id,
        at=A.at,
        branch=A.branch_id,
        where=A.action.in_(actions),
        user=case((A.actor_type == "user", cast(A.actor_id, Integer)), else_=None),
        fields=(Field("Action", A.action), Field("By", A.actor_name), *fields),
        link=link,
        category=category,
    )
