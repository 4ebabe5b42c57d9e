"""Alert use cases: raise and auto-resolve by key (sweep, workflows), acknowledge, assign and
resolve (people), and the lists the pages and dashboards show. Every change is audited in the
caller's transaction; a critical alert notifies the branch's managers through the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts.errors import AlertAlreadyResolved, AssigneeNotAllowed
from backroom.alerts.kinds import KINDS, kinds_of, label
from backroom.alerts.models import AlertStatus, ExceptionAlert, Resolution, Severity
from backroom.alerts.schemas import AlertCounts, AlertPage, AlertRead
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import RoleGrant, User
from backroom.branches.models import Branch
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, not_found
from backroom.notifications import service as notify
from backroom.pagination import paginate

ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
_AUDITED = ("status", "severity", "assignee_id", "resolution", "resolution_note", "occurrences")


def _state(a: ExceptionAlert) -> dict:
    return {k: getattr(a, k) for k in _AUDITED}


async def _record(session, a: ExceptionAlert, action: str, actor: Actor, before: dict | None) -> None:
    await audit.record(
        session,
        actor=actor,
        action=f"alert.{action}",
        entity_type="exception_alert",
        entity_id=a.id,
        branch_id=a.branch_id,
        before=before,
        after={**_state(a), "key": a.key, "kind": a.kind},
    )


async def raise_alert(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    severity: Severity | str,
    branch_id: int,
    title: str,
    link: str | None,
    detail: str | None = None,
    actor: Actor,
    at: datetime | None = None,
) -> tuple[ExceptionAlert, bool]:
    """Open the alert for `key`, or note that its cause is still there. Idempotent per key:
    returns (alert, True) only when this call opened (or reopened) it. An alert the sweep
    auto-resolved reopens when its cause comes back; one a person resolved stays resolved."""
    if kind not in KINDS:
        raise InvalidInput(f"{kind!r} is not a kind of alert.", field="kind")
    severity = Severity(severity)
    now = at or utcnow()
    row = await session.scalar(select(ExceptionAlert).where(ExceptionAlert.key == key))
    if row is None:
        row = ExceptionAlert(
            key=key,
            kind=kind,
            module=KINDS[kind].module if KINDS[kind].module != "both" else _module_of(key),
            severity=severity,
            status=AlertStatus.OPEN,
            branch_id=branch_id,
            title=title[:200],
            detail=detail,
            link=link,
            raised_at=now,
            last_seen_at=now,
            raised_by=actor.name or actor.id,
            occurrences=1,
        )
        session.add(row)
        await session.flush()
        await _record(session, row, "raise", actor, None)
        await _notify_critical(session, row)
        return row, True
    if row.status == AlertStatus.RESOLVED and row.resolution == Resolution.AUTO:
        before = _state(row)
        row.status, row.resolution, row.resolved_at, row.resolved_by_id = AlertStatus.OPEN, None, None, None
        row.acknowledged_at = row.acknowledged_by_id = None
        row.occurrences += 1
        row.severity, row.title, row.detail, row.last_seen_at = severity, title[:200], detail, now
        await session.flush()
        await _record(session, row, "reopen", actor, before)
        await _notify_critical(session, row)
        return row, True
    # Still there: keep the first raise's story, just note it was seen (no audit: no decision).
    await session.execute(update(ExceptionAlert).where(ExceptionAlert.id == row.id).values(last_seen_at=now))
    return row, False


def _module_of(key: str) -> str:
    """Forecast and target alerts carry their function in the key (`target-7:orders.placed...`)."""
    commerce = ("orders", "payments", "shipping", "carts")
    return "commerce" if any(f"{f}." in key for f in commerce) else "custops"


async def _notify_critical(session: AsyncSession, a: ExceptionAlert) -> None:
    """Critical alerts reach the branch's managers by email through the notification outbox."""
    if a.severity != Severity.CRITICAL:
        return
    managers = (
        await session.execute(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                RoleGrant.role == "manager",
                RoleGrant.branch_id == a.branch_id,
                User.is_active.is_(True),
            )
            .distinct()
        )
    ).scalars()
    for uid in managers:
        await notify.enqueue(
            session,
            kind="alert.critical",
            to_user_id=uid,
            branch_id=a.branch_id,
            subject=f"Critical: {a.title}",
            body=f"{label(a.kind)}: {a.title}\n{a.detail or ''}\nOpen the alert: /alerts/{a.id}",
            link=f"/alerts/{a.id}",
            dedupe_key=f"alert-{a.id}:{a.occurrences}:manager-{uid}",
        )


async def resolve_alert(
    session: AsyncSession, *, key: str, actor: Actor, note: str | None = None
) -> ExceptionAlert | None:
    """Auto-resolve the alert of `key` because its cause cleared. Idempotent: an alert that is
    missing or already resolved is left alone (returns None)."""
    row = await session.scalar(
        select(ExceptionAlert).where(ExceptionAlert.key == key, ExceptionAlert.status.in_(ACTIVE))
    )
    if row is None:
        return None
    before = _state(row)
    row.status, row.resolution, row.resolved_at = AlertStatus.RESOLVED, Resolution.AUTO, utcnow()
    row.resolution_note = (note or "The cause cleared.")[:500]
    await session.flush()
    await _record(session, row, "auto_resolve", actor, before)
    return row


async def get(session: AsyncSession, alert_id: int) -> ExceptionAlert:
    row = await session.get(ExceptionAlert, alert_id)
    if row is None:
        raise not_found("Alert", alert_id)
    return row


async def get_for(session: AsyncSession, alert_id: int, p, action: str) -> ExceptionAlert:
    """The alert, if `p` may `action` alerts in its branch (else Forbidden, in words)."""
    row = await get(session, alert_id)
    p.require("alerts", action, row.branch_id)
    return row


async def acknowledge(session: AsyncSession, *, alert_id: int, actor: Actor) -> ExceptionAlert:
    """Someone is on it. Idempotent: acknowledging an acknowledged alert changes nothing."""
    row = await get(session, alert_id)
    if row.status == AlertStatus.RESOLVED:
        raise AlertAlreadyResolved(f"Alert #{row.id} is already resolved.")
    if row.status == AlertStatus.ACKNOWLEDGED:
        return row
    before = _state(row)
    row.status, row.acknowledged_at, row.acknowledged_by_id = (
        AlertStatus.ACKNOWLEDGED,
        utcnow(),
        actor.user_id,
    )
    await session.flush()
    await _record(session, row, "acknowledge", actor, before)
    return row


async def assign(session: AsyncSession, *, alert_id: int, assignee_id: int, actor: Actor) -> ExceptionAlert:
    """Give the alert to a colleague who holds a role in its branch (or in every branch)."""
    row = await get(session, alert_id)
    if row.status == AlertStatus.RESOLVED:
        raise AlertAlreadyResolved(f"Alert #{row.id} is already resolved.")
    user = await session.get(User, assignee_id)
    grant = await session.scalar(
        select(RoleGrant.id).where(
            RoleGrant.user_id == assignee_id,
            or_(RoleGrant.branch_id == row.branch_id, RoleGrant.branch_id.is_(None)),
            RoleGrant.role.notin_(("vendor",)),
        )
    )
    if user is None or not user.is_active or grant is None:
        raise AssigneeNotAllowed("Choose someone who works in this alert's branch.", field="assignee_id")
    if row.assignee_id == assignee_id:
        return row
    before = _state(row)
    row.assignee_id = assignee_id
    await session.flush()
    await _record(session, row, "assign", actor, before)
    return row


async def resolve(
    session: AsyncSession, *, alert_id: int, actor: Actor, note: str | None = None
) -> ExceptionAlert:
    """A person closes the alert (with an optional note). Resolving twice is refused."""
    row = await get(session, alert_id)
    if row.status == AlertStatus.RESOLVED:
        raise AlertAlreadyResolved(f"Alert #{row.id} is already resolved.")
    before = _state(row)
    row.status, row.resolution, row.resolved_at = AlertStatus.RESOLVED, Resolution.MANUAL, utcnow()
    row.resolved_by_id, row.resolution_note = actor.user_id, (note or None)
    await session.flush()
    await _record(session, row, "resolve", actor, before)
    return row


# --- Reading -----------------------------------------------------------------------------------


def _filtered(
    stmt,
    *,
    branch_ids: Iterable[int] | None,
    status: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
    module: str | None = None,
    assignee_id: int | None = None,
    since: datetime | None = None,
):
    if branch_ids is not None:
        stmt = stmt.where(ExceptionAlert.branch_id.in_(list(branch_ids)))
    if status == "active":
        stmt = stmt.where(ExceptionAlert.status.in_(ACTIVE))
    elif status:
        stmt = stmt.where(ExceptionAlert.status == AlertStatus(status))
    if severity:
        stmt = stmt.where(ExceptionAlert.severity == Severity(severity))
    if kind:
        stmt = stmt.where(ExceptionAlert.kind == kind)
    if module:
        stmt = stmt.where(ExceptionAlert.kind.in_(kinds_of(module)), ExceptionAlert.module == module)
    if assignee_id:
        stmt = stmt.where(ExceptionAlert.assignee_id == assignee_id)
    if since:
        stmt = stmt.where(ExceptionAlert.raised_at >= since)
    return stmt


def check_filters(status: str | None, severity: str | None, kind: str | None) -> None:
    """Bad filter values are refused in words, never a 500."""
    if status and status != "active" and status not in set(AlertStatus):
        raise InvalidInput("Status is one of: active, open, acknowledged, resolved.", field="status")
    if severity and severity not in set(Severity):
        raise InvalidInput("Severity is one of: info, warning, critical.", field="severity")
    if kind and kind not in KINDS:
        raise InvalidInput(f"{kind!r} is not a kind of alert.", field="kind")


async def list_alerts(
    session: AsyncSession,
    *,
    branch_ids: Iterable[int] | None,
    status: str | None = "active",
    severity: str | None = None,
    kind: str | None = None,
    module: str | None = None,
    assignee_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AlertPage:
    """Alerts in the given branches (None: every branch), newest first, one page at a time."""
    check_filters(status, severity, kind)
    stmt = _filtered(
        select(ExceptionAlert),
        branch_ids=branch_ids,
        status=status,
        severity=severity,
        kind=kind,
        module=module,
        assignee_id=assignee_id,
    )
    page = await paginate(
        session,
        stmt,
        sort_col=ExceptionAlert.raised_at,
        id_col=ExceptionAlert.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return AlertPage(items=await read_many(session, page.items), next_cursor=page.next_cursor)


async def read_many(session: AsyncSession, rows: list[ExceptionAlert]) -> list[AlertRead]:
    """Alerts with names for people (branch, who acknowledged, assignee, who resolved)."""
    ids = {i for r in rows for i in (r.acknowledged_by_id, r.assignee_id, r.resolved_by_id) if i}
    names = dict((await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))).all())
    bids = {r.branch_id for r in rows}
    branches = dict((await session.execute(select(Branch.id, Branch.name).where(Branch.id.in_(bids)))).all())
    out = []
    for r in rows:
        item = AlertRead.model_validate(r)
        item.kind_label = label(r.kind)
        item.branch = branches.get(r.branch_id, "")
        item.acknowledged_by = names.get(r.acknowledged_by_id)
        item.assignee = names.get(r.assignee_id)
        item.resolved_by = names.get(r.resolved_by_id) or (
            "Backroom (cause cleared)" if r.resolution == "auto" else None
        )
        out.append(item)
    return out


async def counts(
    session: AsyncSession, *, branch_ids: Iterable[int] | None, module: str | None = None
) -> AlertCounts:
    """Open, acknowledged and critical-active alerts: one grouped query."""
    stmt = select(ExceptionAlert.status, ExceptionAlert.severity, func.count()).where(
        ExceptionAlert.status.in_(ACTIVE)
    )
    stmt = _filtered(stmt, branch_ids=branch_ids, module=module).group_by(
        ExceptionAlert.status, ExceptionAlert.severity
    )
    out = {"open": 0, "acknowledged": 0, "critical": 0}
    for status, severity, n in (await session.execute(stmt)).all():
        out[status] += n
        if severity == Severity.CRITICAL:
            out["critical"] += n
    return AlertCounts(**out)


async def assignable(session: AsyncSession, branch_id: int) -> list[tuple[int, str]]:
    """People who may take an alert of this branch, by name."""
    rows = await session.execute(
        select(User.id, User.full_name)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            User.is_active.is_(True),
            or_(RoleGrant.branch_id == branch_id, RoleGrant.branch_id.is_(None)),
            RoleGrant.role.notin_(("vendor",)),
        )
        .distinct()
        .order_by(User.full_name)
    )
    return [(i, n) for i, n in rows.all()]
