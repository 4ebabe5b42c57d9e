"""The staff task inbox: approval requests the user may decide, decided from the page."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request

from api.deps import READS_ONLY, Session, TemporalFactory, require
from api.params import Id
from api.ui.common import redirect, render
from api.ui.crm import my_work
from backroom.approvals import service
from backroom.auth.principal import Principal
from backroom.errors import AppError

router = APIRouter(include_in_schema=False)
NAV = [("Inbox", "/inbox", ("dashboard", "read"), 1)]


@router.get("/inbox")
async def inbox_page(session: Session, request: Request, p: Principal = require("dashboard", "read")):
    pending = await service.inbox(session, p=p, status="pending")
    decided = await service.inbox(session, p=p, status="decided")
    mine = await service.my_requests(session, p=p)
    return render(
        request,
        "inbox.html",
        p,
        pending=pending,
        decided=decided[:30],
        mine=mine[:30],
        error=request.query_params.get("error"),
        **await my_work(session, p),
    )


@router.post("/inbox/{request_id}/decision", dependencies=[READS_ONLY])
async def decide_from_inbox(
    session: Session,
    connect: TemporalFactory,
    request_id: Id,
    decision: str = Form(...),
    reason: str = Form(""),
    p: Principal = require("dashboard", "read"),
):
    """Approve or reject from the inbox; the outcome shows at once on the reloaded page."""
    try:
        outcome = await service.decide(
            session, connect, request_id=request_id, p=p, approve=decision == "approve", reason=reason
        )
    except AppError as exc:
        if exc.status in (403, 404) or exc.status >= 500:  # an error page, not a flash
            raise
        return redirect("/inbox", flash=f"Request #{request_id}: {exc.detail}")
    return redirect("/inbox", flash=f"Request #{request_id} {outcome.status}.")
