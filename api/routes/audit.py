"""The audit trail: verify the hash chain; list events of a record, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import Session, require
from backroom.audit import service as audit
from backroom.audit.models import AuditEvent
from backroom.auth.principal import Principal
from backroom.pagination import paginate

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    actor_name: str | None
    action: str
    entity_type: str
    entity_id: str
    branch_id: int | None
    before: dict | None
    after: dict | None
    request_id: str | None
    workflow_id: str | None
    hash: str


@router.get("/verify")
async def verify(session: Session, p: Principal = require("audit", "read")) -> dict:
    """Re-hash the whole chain; name the first broken link. Read-only."""
    report = await audit.verify(session)
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_broken_id": report.first_broken_id,
        "problem": report.problem,
    }


@router.get("/events")
async def events(
    session: Session,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: int = 50,
    cursor: str | None = None,
    p: Principal = require("audit", "read"),
) -> dict:
    """Events, newest first, filtered by record and action; branch-bound readers see their
    branches' events only."""
    stmt = select(AuditEvent)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    branches = p.branch_ids("audit", "read")
    if branches is not None:
        stmt = stmt.where(AuditEvent.branch_id.in_(branches))
    page = await paginate(
        session,
        stmt,
        sort_col=AuditEvent.id,
        id_col=AuditEvent.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return {
        "items": [AuditEventRead.model_validate(e).model_dump(mode="json") for e in page.items],
        "next_cursor": page.next_cursor,
    }
