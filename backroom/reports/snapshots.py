"""Report snapshots: plan a run, produce one snapshot (idempotent per run key), list versions,
read a stored file, and request a backfill (one ReportRunWorkflow per period, via the outbox).

A snapshot is the report exactly as `service.build_report` returns it for the period, plus its
CSV, XLSX and PDF renderings, stored in one transaction with its audit event and the subscribers'
e-mails. Rows are never updated: a re-run of a period adds the next version."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.db.session import Sessionmaker
from backroom.errors import InvalidInput, NotFound, Refused
from backroom.reports import access, catalog, periods
from backroom.reports.flow import REPORT_RUN_WORKFLOW, ReportRunInput, RunPlanAsk, SnapshotAsk, SnapshotDone
from backroom.reports.models import ReportSnapshot, ReportSnapshotFile
from backroom.reports.ops_schemas import FORMATS, SnapshotDetail, SnapshotFileRead, SnapshotRead
from backroom.reports.periods import Edition, Period
from backroom.settings import Settings
from backroom.starts import service as starts
from backroom.starts.models import WorkflowStart

# A backfill starts one workflow per period; this bounds one request (18 months of days).
MAX_BACKFILL_PERIODS = 600


def may_read(p: Principal, function: str, branch_id: int | None) -> bool:
    """Whether the user may read this report set branch-wide in the branch (None: all branches
    together), the rule of the live report (backroom.reports.access)."""
    catalog.get(function)
    return access.may_read(p, function, branch_id)


def may_export(p: Principal, function: str, branch_id: int | None) -> bool:
    """Whether the user may take this report's files (the all-branches one: in every branch)."""
    catalog.get(function)
    if branch_id is None:
        return p.branch_ids("reports", "export") is None
    return p.can("reports", "export", branch_id)


def run_key(workflow_id: str, ask: SnapshotAsk) -> str:
    """The idempotency key of one snapshot of one run: a retried activity finds its row."""
    return f"{workflow_id}:{ask.function}:{ask.edition}:{ask.label}:{ask.branch_id or 'all'}"[:300]


def _functions(names: list[str] | None) -> list[str]:
    if names is None:
        return list(catalog.functions())
    for name in names:
        catalog.get(name)  # a clear NotFound for an unknown name
    return list(dict.fromkeys(names))


async def _branches(session: AsyncSession, branch_ids: list[int] | None) -> list[Branch]:
    stmt = select(Branch).order_by(Branch.id)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(branch_ids))
    found = list((await session.execute(stmt)).scalars())
    if branch_ids is not None and len(found) != len(set(branch_ids)):
        missing = sorted(set(branch_ids) - {b.id for b in found})
        raise NotFound(f"No branch with id {', '.join(map(str, missing))}.")
    return found


def _ended(period: Period, zones: list[str], at: datetime) -> bool:
    return all(periods.bounds(period, tz)[1] <= at for tz in zones)


def _last_ended(edition: Edition, tz: str, at: datetime) -> Period:
    """The latest period of the edition that has ended by `at` in the zone."""
    local_day = at.astimezone(periods.zone(tz)).date()
    return periods.previous(periods.period_for(edition, local_day))


async def _existing_scopes(
    session: AsyncSession, edition: Edition, labels: set[str]
) -> set[tuple[str, str, int | None]]:
    rows = await session.execute(
        select(ReportSnapshot.function, ReportSnapshot.period_label, ReportSnapshot.branch_id)
        .where(ReportSnapshot.edition == edition.value, ReportSnapshot.period_label.in_(labels))
        .distinct()
    )
    return {tuple(r) for r in rows}


async def plan_run(session: AsyncSession, ask: RunPlanAsk) -> list[SnapshotAsk]:
    """The snapshots a run must make. With a label: that period in each branch (and for all
    branches) where it has ended by `at`. Without: per branch the latest period that has ended
    by `at` in its zone, and for all branches the latest that has ended in every zone. Unless
    `force`, scopes that already have a snapshot are left out. Read-only."""
    edition = Edition(ask.edition)
    functions = _functions(ask.functions)
    branches = await _branches(session, ask.branch_ids)
    scopes: list[tuple[Period, int | None]] = []
    if ask.label is not None:
        period = periods.from_label(edition, ask.label)
        scopes = [(period, b.id) for b in branches if _ended(period, [b.timezone], ask.at)]
        if ask.branch_ids is None and branches and _ended(period, [b.timezone for b in branches], ask.at):
            scopes.append((period, None))
    else:
        last = {b.id: _last_ended(edition, b.timezone, ask.at) for b in branches}
        scopes = [(last[b.id], b.id) for b in branches]
        if ask.branch_ids is None and branches:
            scopes.append((min(last.values(), key=lambda p: p.start_local), None))
    have = set() if ask.force else await _existing_scopes(session, edition, {p.label for p, _ in scopes})
    return [
        SnapshotAsk(function=f, edition=edition, label=p.label, branch_id=b, force=ask.force)
        for p, b in scopes
        for f in functions
        if (f, p.label, b) not in have
    ]


@dataclass
class RenderedFile:
    format: str
    media_type: str
    filename: str
    content: bytes


def _render_all(report) -> list[RenderedFile]:
    from backroom.reports import export

    out = []
    for fmt in FORMATS:
        r = export.render(report, fmt)
        out.append(RenderedFile(fmt, r.media_type, r.filename, r.content))
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_hash(body: dict) -> str:
    return _sha(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


async def _found(session: AsyncSession, key: str, ask: SnapshotAsk) -> ReportSnapshot | None:
    """The snapshot this run already made, or (unless forced) the newest one of the scope."""
    mine = await session.scalar(select(ReportSnapshot).where(ReportSnapshot.run_key == key))
    if mine is not None or ask.force:
        return mine
    return await session.scalar(
        _scope(ask.function, ask.edition, ask.label, ask.branch_id)
        .order_by(ReportSnapshot.version.desc())
        .limit(1)
    )


def _scope(function: str, edition: str, label: str, branch_id: int | None):
    branch = (
        ReportSnapshot.branch_id.is_(None) if branch_id is None else ReportSnapshot.branch_id == branch_id
    )
    return select(ReportSnapshot).where(
        ReportSnapshot.function == function,
        ReportSnapshot.edition == str(edition),
        ReportSnapshot.period_label == label,
        branch,
    )


def _done(snap: ReportSnapshot, created: bool, notified: int = 0) -> SnapshotDone:
    return SnapshotDone(
        snapshot_id=snap.id,
        function=snap.function,
        label=snap.period_label,
        branch_id=snap.branch_id,
        version=snap.version,
        created=created,
        notified=notified,
    )


async def produce(
    sessionmaker: Sessionmaker, ask: SnapshotAsk, *, workflow_id: str, settings: Settings
) -> SnapshotDone:
    """Build the report, render its files and store them as the scope's next version, with the
    audit event and the subscribers' e-mails, in one transaction. Idempotent per
    (workflow, function, edition, period, branch): a retry returns the snapshot it made."""
    from backroom.reports import subscriptions
    from backroom.reports.service import build_report

    key = run_key(workflow_id, ask)
    period = periods.from_label(ask.edition, ask.label)
    async with sessionmaker() as session:
        # Reading only: on SQLite this keeps the write lock free while the report is built.
        await session.connection(execution_options={"readonly": True})
        found = await _found(session, key, ask)
        if found is not None:
            return _done(found, created=False)
        report = await build_report(
            session,
            function=ask.function,
            edition=ask.edition,
            day=period.start_local,
            branch_ids=[ask.branch_id] if ask.branch_id is not None else None,
            personal=False,  # kept for good: erasing a customer must leave no name behind here
        )
    body = report.model_dump(mode="json")
    # WeasyPrint and openpyxl are CPU-bound: keep them off the event loop.
    files = await asyncio.to_thread(_render_all, report)
    actor = Actor.workflow(workflow_id, on_behalf_of=ask.requested_by_id)
    async with sessionmaker.begin() as session:
        found = await _found(session, key, ask)
        if found is not None:  # another attempt (or a concurrent run) got here first
            return _done(found, created=False)
        latest = await session.scalar(
            select(func.max(ReportSnapshot.version)).where(
                _scope(ask.function, ask.edition, ask.label, ask.branch_id).whereclause
            )
        )
        starts_at = min(b.start_utc for b in report.period.bounds) if report.period.bounds else None
        ends_at = max(b.end_utc for b in report.period.bounds) if report.period.bounds else None
        snap = ReportSnapshot(
            function=ask.function,
            edition=str(ask.edition),
            period_label=period.label,
            period_start_local=period.start_local,
            period_end_local=period.end_local,
            starts_at=starts_at or periods.bounds(period, "UTC")[0],
            ends_at=ends_at or periods.bounds(period, "UTC")[1],
            branch_id=ask.branch_id,
            version=(latest or 0) + 1,
            body=body,
            body_sha256=body_hash(body),
            has_data=report.has_data,
            trigger=ask.trigger,
            workflow_id=workflow_id,
            created_by_id=ask.requested_by_id,
            run_key=key,
        )
        session.add(snap)
        await session.flush()
        for f in files:
            session.add(
                ReportSnapshotFile(
                    snapshot_id=snap.id,
                    format=f.format,
                    media_type=f.media_type,
                    filename=f.filename,
                    size=len(f.content),
                    sha256=_sha(f.content),
                    content=f.content,
                )
            )
        await audit.record(
            session,
            actor=actor,
            action="report_snapshot.created",
            entity_type="report_snapshot",
            entity_id=snap.id,
            branch_id=snap.branch_id,
            after={
                "function": snap.function,
                "edition": snap.edition,
                "period": snap.period_label,
                "version": snap.version,
                "trigger": snap.trigger,
                "body_sha256": snap.body_sha256,
                "files": {f.format: _sha(f.content) for f in files},
            },
        )
        notified = await subscriptions.notify_subscribers(
            session, snapshot=snap, files={f.format: f for f in files}, settings=settings
        )
        return _done(snap, created=True, notified=notified)


# --- reading -------------------------------------------------------------------------------


async def versions(
    session: AsyncSession, *, function: str, edition: Edition | str, label: str, branch_id: int | None
) -> list[ReportSnapshot]:
    """Every version of one report's snapshot, newest first. Read-only."""
    catalog.get(function)
    period = periods.from_label(edition, label)
    stmt = _scope(function, Edition(edition), period.label, branch_id).order_by(ReportSnapshot.version.desc())
    return list((await session.execute(stmt)).scalars())


async def recent(
    session: AsyncSession,
    *,
    function: str | None = None,
    edition: Edition | str | None = None,
    branch_ids: set[int] | None = None,
    include_all_branches: bool = True,
    limit: int = 100,
) -> list[ReportSnapshot]:
    """The newest snapshots (any version) the caller may see: `branch_ids` None means every
    branch. Read-only."""
    stmt = select(ReportSnapshot).order_by(ReportSnapshot.id.desc()).limit(min(max(limit, 1), 500))
    if function:
        catalog.get(function)
        stmt = stmt.where(ReportSnapshot.function == function)
    if edition:
        stmt = stmt.where(ReportSnapshot.edition == Edition(edition).value)
    if branch_ids is not None:
        cond = ReportSnapshot.branch_id.in_(branch_ids or {-1})
        if include_all_branches:
            cond = cond | ReportSnapshot.branch_id.is_(None)
        stmt = stmt.where(cond)
    return list((await session.execute(stmt)).scalars())


async def get(session: AsyncSession, snapshot_id: int) -> ReportSnapshot:
    snap = await session.get(ReportSnapshot, snapshot_id)
    if snap is None:
        raise NotFound(f"There is no report snapshot number {snapshot_id}.")
    return snap


async def file_of(session: AsyncSession, snapshot: ReportSnapshot, fmt: str) -> ReportSnapshotFile:
    if fmt not in FORMATS:
        raise InvalidInput(f"Choose one of {', '.join(FORMATS)}; {fmt!r} is not a snapshot format.")
    found = await session.scalar(
        select(ReportSnapshotFile).where(
            ReportSnapshotFile.snapshot_id == snapshot.id, ReportSnapshotFile.format == fmt
        )
    )
    if found is None:
        raise NotFound(f"Snapshot {snapshot.id} has no {fmt.upper()} file.")
    return found


async def download(session: AsyncSession, *, snapshot: ReportSnapshot, fmt: str, actor: Actor):
    """A stored file of a snapshot, with the export audited (who took which file). Not idempotent:
    every download is one audit event."""
    f = await file_of(session, snapshot, fmt)
    await audit.record(
        session,
        actor=actor,
        action="report_snapshot.exported",
        entity_type="report_snapshot",
        entity_id=snapshot.id,
        branch_id=snapshot.branch_id,
        after={
            "function": snapshot.function,
            "edition": snapshot.edition,
            "period": snapshot.period_label,
            "version": snapshot.version,
            "format": fmt,
            "sha256": f.sha256,
        },
    )
    return f


async def read(
    session: AsyncSession, snaps: list[ReportSnapshot], *, detail: bool = False
) -> list[SnapshotRead]:
    """The wire shape of snapshots, with branch names and file links. Read-only."""
    from backroom.reports.subscriptions import live_link

    ids = [s.id for s in snaps]
    files: dict[int, list[SnapshotFileRead]] = {}
    if ids:
        rows = await session.execute(
            select(
                ReportSnapshotFile.snapshot_id,
                ReportSnapshotFile.format,
                ReportSnapshotFile.filename,
                ReportSnapshotFile.size,
                ReportSnapshotFile.sha256,
            )
            .where(ReportSnapshotFile.snapshot_id.in_(ids))
            .order_by(ReportSnapshotFile.id)
        )
        for sid, fmt, filename, size, sha in rows:
            files.setdefault(sid, []).append(
                SnapshotFileRead(
                    format=fmt,
                    filename=filename,
                    size=size,
                    sha256=sha,
                    url=f"/api/v1/report-snapshots/{sid}/files/{fmt}",
                )
            )
    names = dict((await session.execute(select(Branch.id, Branch.name))).all()) if snaps else {}
    shape = SnapshotDetail if detail else SnapshotRead
    return [
        shape(
            id=s.id,
            function=s.function,
            edition=s.edition,
            period=s.period_label,
            period_start_local=s.period_start_local,
            period_end_local=s.period_end_local,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            branch_id=s.branch_id,
            branch="All branches" if s.branch_id is None else names.get(s.branch_id, f"Branch {s.branch_id}"),
            version=s.version,
            has_data=s.has_data,
            trigger=s.trigger,
            workflow_id=s.workflow_id,
            created_at=s.created_at,
            body_sha256=s.body_sha256,
            files=files.get(s.id, []),
            live_report=live_link(s),
            **({"body": s.body} if detail else {}),
        )
        for s in snaps
    ]


# --- backfill ------------------------------------------------------------------------------


@dataclass
class BackfillRun:
    workflow_id: str
    edition: str
    label: str


def backfill_periods(date_from: date, date_to: date, edition: Edition, *, today: date) -> list[Period]:
    """Every period of the edition that touches [date_from, date_to] and has ended by `today`."""
    out = []
    p = periods.period_for(edition, date_from)
    while p.start_local <= date_to:
        if p.end_local <= today:
            out.append(p)
        p = periods.following(p)
    return out


def run_workflow_id(prefix: str, edition: str, label: str, n: int) -> str:
    return f"{prefix}report-run-{edition}-{label}-{n}"


async def request_backfill(
    session: AsyncSession,
    *,
    actor: Actor,
    date_from: date,
    date_to: date,
    editions: list[Edition | str] | None = None,
    functions: list[str] | None = None,
    branch_ids: list[int] | None = None,
    task_queue: str,
    prefix: str = "",
    today: date,
) -> list[BackfillRun]:
    """Queue one ReportRunWorkflow per period in the range (each makes a new version of every
    snapshot of its period), audited, through the outbox; the caller commits and dispatches.
    The n-th backfill of a period gets the id report-run-{edition}-{label}-{n}."""

    if date_from > date_to:
        raise Refused("The start date is after the end date.", field="date_from")
    if date_from >= today:
        raise Refused("Only periods that are over can be regenerated; pick dates before today.")
    functions = _functions(functions) if functions else None
    if branch_ids is not None:
        await _branches(session, branch_ids)
    editions = list(dict.fromkeys(Edition(e) for e in (editions or Edition)))
    # Refuse a huge range before listing its periods (a range of centuries took 10 s to count).
    days = (min(date_to, today) - date_from).days + 1
    if days > MAX_BACKFILL_PERIODS * (1 if Edition.DAILY in editions else 31):
        raise Refused(
            f"That range has more than {MAX_BACKFILL_PERIODS} periods; backfill at most "
            f"{MAX_BACKFILL_PERIODS} at a time."
        )
    todo = [(e, p) for e in editions for p in backfill_periods(date_from, date_to, e, today=today)]
    if not todo:
        raise Refused("No daily, weekly or monthly period in that range is over yet.")
    if len(todo) > MAX_BACKFILL_PERIODS:
        raise Refused(
            f"That range has {len(todo)} periods; backfill at most {MAX_BACKFILL_PERIODS} at a time."
        )
    runs = []
    for edition, period in todo:
        base = run_workflow_id(prefix, edition, period.label, "")
        n = 1 + (
            await session.scalar(
                select(func.count())
                .select_from(WorkflowStart)
                .where(WorkflowStart.workflow_id.like(f"{base}%"))
            )
            or 0
        )
        wid = run_workflow_id(prefix, edition, period.label, n)
        await starts.enqueue(
            session,
            run=REPORT_RUN_WORKFLOW,
            arg=ReportRunInput(
                edition=edition,
                label=period.label,
                functions=functions,
                branch_ids=branch_ids,
                force=True,
                trigger="backfill",
                requested_by_id=actor.user_id,
            ),
            workflow_id=wid,
            task_queue=task_queue,
        )
        runs.append(BackfillRun(wid, edition.value, period.label))
    await audit.record(
        session,
        actor=actor,
        action="reports.backfill",
        entity_type="report_backfill",
        entity_id=runs[0].workflow_id,
        after={
            "from": date_from,
            "to": date_to,
            "editions": [e.value for e in editions],
            "functions": functions or "all",
            "branches": branch_ids or "all",
            "workflows": [r.workflow_id for r in runs],
        },
    )
    return runs
