"""Exception alerts API: list (filters), detail, acknowledge, assign, resolve."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import WithJsonSchema

from api.deps import Session, require
from api.params import Id, ItemId
from backroom.alerts import service
from backroom.alerts.kinds import KINDS
from backroom.alerts.schemas import AlertCounts, AlertPage, AlertRead, AssignIn, ResolveIn
from backroom.analytics.access import branches_for
from backroom.auth.principal import Principal
from backroom.pagination import CursorText

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Branches = Annotated[list[ItemId] | None, Query(alias="branch")]


@router.get("")
async def list_alerts(
    session: Session,
    branch: Branches = None,
    status: Literal["", "active", "open", "acknowledged", "resolved"] | None = "active",
    severity: Literal["", "info", "warning", "critical"] | None = None,
    kind: Annotated[str, WithJsonSchema({"type": "string", "enum": ["", *sorted(KINDS)]})] | None = None,
    module: str | None = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorText | None = None,
    p: Principal = require("alerts", "list"),
) -> AlertPage:
    """Alerts in the caller's branches, newest first. `status` is active (open or
    acknowledged, the default), open, acknowledged or resolved; "" lists all."""
    return await service.list_alerts(
        session,
        branch_ids=branches_for(p, "alerts", "list", branch),
        status=status or None,
        severity=severity,
        kind=kind,
        module=module,
        assignee_id=assignee_id,
        limit=limit,
        cursor=cursor,
    )


@router.get("/counts")
async def alert_counts(
    session: Session,
    branch: Branches = None,
    module: str | None = None,
    p: Principal = require("alerts", "list"),
) -> AlertCounts:
    return await service.counts(session, branch_ids=branches_for(p, "alerts", "list", branch), module=module)


@router.get("/{alert_id:id}")
async def get_alert(session: Session, alert_id: Id, p: Principal = require("alerts", "read")) -> AlertRead:
    return (await service.read_many(session, [await service.get_for(session, alert_id, p, "read")]))[0]


@router.post("/{alert_id:id}/acknowledge")
async def acknowledge(
    session: Session, alert_id: Id, p: Principal = require("alerts", "update")
) -> AlertRead:
    """Someone is on it. Acknowledging twice changes nothing."""
    await service.get_for(session, alert_id, p, "update")
    row = await service.acknowledge(session, alert_id=alert_id, actor=p.actor())
    return (await service.read_many(session, [row]))[0]


@router.post("/{alert_id:id}/assign")
async def assign(
    session: Session, alert_id: Id, body: AssignIn, p: Principal = require("alerts", "update")
) -> AlertRead:
    await service.get_for(session, alert_id, p, "update")
    row = await service.assign(session, alert_id=alert_id, assignee_id=body.assignee_id, actor=p.actor())
    return (await service.read_many(session, [row]))[0]


@router.post("/{alert_id:id}/resolve")
async def resolve(
    session: Session, alert_id: Id, body: ResolveIn | None = None, p: Principal = require("alerts", "update")
) -> AlertRead:
    await service.get_for(session, alert_id, p, "update")
    row = await service.resolve(session, alert_id=alert_id, actor=p.actor(), note=body.note if body else None)
    return (await service.read_many(session, [row]))[0]
