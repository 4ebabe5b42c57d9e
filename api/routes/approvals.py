"""Approval inbox API: list requests, read one, decide (recorded here, then told to the workflow)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Session, require
from api.params import Id
from backroom.approvals import service
from backroom.approvals.schemas import ApprovalOutcome, ApprovalRead, DecisionIn
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.pagination import PageRead

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])


@router.get("")
async def list_approvals(
    session: Session,
    status: Literal["pending", "decided"] = "pending",
    p: Principal = require("dashboard", "read"),
) -> PageRead[ApprovalRead]:
    """The caller's inbox: requests they may decide (or have decided), all on one page (inboxes
    are short). Each request is further checked against its own (function, action) in its branch."""
    rows = await service.inbox(session, p=p, status=status)
    return PageRead(items=[ApprovalRead.model_validate(r) for r in rows])


@router.get("/{request_id:id}")
async def get_approval(
    session: Session, request_id: Id, p: Principal = require("dashboard", "read")
) -> ApprovalRead:
    row = await service.get(session, request_id)
    if not service.may_see(p, row):
        raise Forbidden(f"You may not see approval request #{request_id}.")
    return ApprovalRead.model_validate(row)


@router.post("/{request_id:id}/decision")
async def decide(
    session: Session,
    request_id: Id,
    body: DecisionIn,
    p: Principal = require("dashboard", "read"),
) -> ApprovalOutcome:
    """Approve or reject. Casbin checks the request's own (function, action) in its branch; stale,
    repeated and self-decisions are refused. The decision (and, for a credit limit, the new
    limit) is committed when this answers; the workflow is told right after."""
    return await service.decide(session, request_id=request_id, p=p, approve=body.approve, reason=body.reason)
