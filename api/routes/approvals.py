"""Approval inbox API: list requests, read one, decide (sent to the workflow as an Update)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from api.deps import Session, require
from backroom.approvals import service
from backroom.approvals.schemas import ApprovalOutcome, ApprovalRead, DecisionIn
from backroom.auth.principal import Principal
from backroom.errors import Forbidden

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])


@router.get("")
async def list_approvals(
    session: Session,
    status: Literal["pending", "decided"] = "pending",
    p: Principal = require("dashboard", "read"),
) -> dict:
    """The caller's inbox: requests they may decide (or have decided). Each request is further
    checked against its own (function, action) in its branch."""
    rows = await service.inbox(session, p=p, status=status)
    return {"items": [ApprovalRead.model_validate(r) for r in rows], "next_cursor": None}


@router.get("/{request_id}")
async def get_approval(
    session: Session, request_id: int, p: Principal = require("dashboard", "read")
) -> ApprovalRead:
    row = await service.get(session, request_id)
    if not service.may_see(p, row):
        raise Forbidden(f"You may not see approval request #{request_id}.")
    return ApprovalRead.model_validate(row)


@router.post("/{request_id}/decision")
async def decide(
    session: Session,
    request_id: int,
    body: DecisionIn,
    request: Request,
    p: Principal = require("dashboard", "read"),
) -> ApprovalOutcome:
    """Approve or reject. Casbin checks the request's own (function, action) in its branch
    before the Update is sent; the workflow's validator refuses stale, repeated and
    self-approvals. Returns the outcome once the workflow has recorded it."""
    row = await service.get(session, request_id)
    await session.commit()  # hold no transaction (or SQLite lock) while the workflow works
    client = await request.app.state.temporal.client()
    return await service.send_decision(client, row=row, p=p, approve=body.approve, reason=body.reason)
