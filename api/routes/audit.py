"""The audit trail: verify the hash chain; list events of a record, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Session, require
from backroom.audit import service as audit
from backroom.audit.schemas import AuditEventRead, AuditFilter, ChainReportRead
from backroom.auth.principal import Principal
from backroom.pagination import PageRead

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify")
async def verify(session: Session, p: Principal = require("audit", "read")) -> ChainReportRead:
    """Re-hash the whole chain; name the first broken link. Read-only."""
    return ChainReportRead.model_validate(await audit.verify(session))


@router.get("/events")
async def events(
    session: Session, filt: Annotated[AuditFilter, Query()], p: Principal = require("audit", "read")
) -> PageRead[AuditEventRead]:
    """Events, newest first, filtered by record and action; branch-bound readers see their
    branches' events only."""
    page = await audit.events_page(session, filt=filt, branch_ids=p.branch_ids("audit", "read"))
    # Auditors read every function; secrets stay hidden; erased people's fields read "(erased)".
    page.items = await audit.views(session, page.items)
    return PageRead[AuditEventRead].of(page, AuditEventRead)
