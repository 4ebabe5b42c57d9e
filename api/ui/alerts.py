"""Alert pages: the list with filters, one alert with its actions (acknowledge, assign,
resolve) and its audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from api.deps import Session, require
from api.params import Id
from api.ui.common import redirect, render
from backroom.alerts import service
from backroom.alerts.kinds import KINDS, MODULES
from backroom.alerts.models import AlertStatus, Severity
from backroom.analytics.access import branches_for
from backroom.audit import service as audit
from backroom.auth.principal import Principal
from backroom.errors import InvalidInput

router = APIRouter(include_in_schema=False)
NAV = [("Alerts", "/alerts", ("alerts", "list"), 2)]


def _int(value: str | None, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(f"{field.title()} must be a number.", field=field)
    return int(value)


@router.get("/alerts")
async def alert_list(request: Request, session: Session, p: Principal = require("alerts", "list")):
    q = request.query_params
    branch = _int(q.get("branch"), "branch")
    status = q.get("status", "active")
    page = await service.list_alerts(
        session,
        branch_ids=branches_for(p, "alerts", "list", [branch] if branch else None),
        status=status or None,
        severity=q.get("severity") or None,
        kind=q.get("kind") or None,
        module=q.get("module") or None,
        assignee_id=p.user_id if q.get("mine") else None,
        cursor=q.get("cursor") or None,
    )
    from backroom.analytics.dashboard import filter_options

    options = await filter_options(session, branch_ids=branches_for(p, "alerts", "list", None))
    return render(
        request,
        "dash/alerts.html",
        p,
        page=page,
        q=q,
        base_qs=urlencode([(k, v) for k, v in q.multi_items() if k != "cursor"]),
        current_status=status,
        branches=options.branches,
        kinds=KINDS,
        modules=MODULES,
        statuses=["active", *AlertStatus],
        severities=list(Severity),
    )


@router.get("/alerts/{alert_id}")
async def alert_page(
    request: Request, session: Session, alert_id: Id, p: Principal = require("alerts", "read")
):
    row = await service.get_for(session, alert_id, p, "read")
    (item,) = await service.read_many(session, [row])
    return render(
        request,
        "dash/alert.html",
        p,
        a=item,
        can_update=p.can("alerts", "update", row.branch_id),
        people=await service.assignable(session, row.branch_id),
        events=await audit.trail(
            session, entity_type="exception_alert", entity_id=row.id, may_read=p.reader(row.branch_id)
        ),
    )


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(session: Session, alert_id: Id, p: Principal = require("alerts", "update")):
    await service.get_for(session, alert_id, p, "update")
    await service.acknowledge(session, alert_id=alert_id, actor=p.actor())
    return redirect(f"/alerts/{alert_id}", "Acknowledged: you are on it.")


@router.post("/alerts/{alert_id}/assign")
async def assign(
    request: Request, session: Session, alert_id: Id, p: Principal = require("alerts", "update")
):
    await service.get_for(session, alert_id, p, "update")
    form = await request.form()
    assignee = _int(str(form.get("assignee_id") or ""), "assignee_id")
    if assignee is None:
        raise InvalidInput("Choose who takes the alert.", field="assignee_id")
    await service.assign(session, alert_id=alert_id, assignee_id=assignee, actor=p.actor())
    return redirect(f"/alerts/{alert_id}", "Assigned.")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(
    request: Request, session: Session, alert_id: Id, p: Principal = require("alerts", "update")
):
    await service.get_for(session, alert_id, p, "update")
    form = await request.form()
    note = str(form.get("note") or "").strip()[:500] or None
    await service.resolve(session, alert_id=alert_id, actor=p.actor(), note=note)
    return redirect(f"/alerts/{alert_id}", "Resolved.")
