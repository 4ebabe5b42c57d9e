"""Complaints API: log, reply, wait on the customer, resolve, reopen, attach, queue by SLA risk."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api import workflow_calls as wf
from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.complaints import service as complaints
from backroom.complaints.models import Complaint
from backroom.complaints.schemas import ComplaintCreate, ComplaintRead, Note, Reopen, Reply, Resolve
from backroom.complaints.sla import sla_status
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import not_found
from workflows.complaints import ComplaintInput, ComplaintWorkflow, Resolution

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


def read(c: Complaint) -> dict:
    info = sla_status(c, utcnow())
    return {
        **ComplaintRead.model_validate(c).model_dump(mode="json"),
        "sla": {
            "status": info.status,
            "used": info.used,
            "due_at": info.due_at.isoformat() if info.due_at else None,
            "paused": info.paused,
        },
    }


def workflow_input(c: Complaint, settings) -> ComplaintInput:
    return ComplaintInput(
        complaint_id=c.id,
        branch_id=c.branch_id,
        title=f"complaint #{c.id}",
        first_response_minutes=c.first_response_minutes,
        resolution_minutes=c.resolution_minutes,
        reopen_window_minutes=settings.complaint_reopen_minutes,
    )


async def log_and_start(
    request: Request, session: AsyncSession, p: Principal, body: ComplaintCreate
) -> Complaint:
    """Shared by the API and the page: check the customer's branch, log, commit, start the workflow."""
    customer = await session.get(Customer, body.customer_id)
    if not customer:
        raise not_found("Customer", body.customer_id)
    p.require("complaints", "create", branch_id=customer.home_branch_id)
    settings = request.app.state.settings
    c = await complaints.log_complaint(
        session, actor=p.actor(), sla=settings.complaint_sla, **body.model_dump()
    )
    await wf.start(
        session,
        ComplaintWorkflow.run,
        workflow_input(c, settings),
        workflow_id=c.workflow_id,
        branch_id=c.branch_id,
        customer_id=c.customer_id,
        order_id=c.order_id,
    )
    return c


async def _get(session: AsyncSession, p: Principal, cid: int, action: str) -> Complaint:
    c = await complaints.get(session, cid)
    p.require("complaints", action, branch_id=c.branch_id)
    return c


@router.post("", status_code=201)
async def create(
    session: Session, body: ComplaintCreate, request: Request, p: Principal = require("complaints", "create")
) -> dict:
    """Log a complaint and start ComplaintWorkflow (complaint-{id})."""
    return read(await log_and_start(request, session, p, body))


@router.get("")
async def listing(
    session: Session,
    status: str | None = None,
    severity: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    p: Principal = require("complaints", "list"),
) -> dict:
    page = await complaints.search(
        session,
        branch_ids=p.branch_ids("complaints", "list"),
        status=status,
        severity=severity,
        limit=limit,
        cursor=cursor,
    )
    return {"items": [read(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/queue")
async def queue(session: Session, p: Principal = require("complaints", "list")) -> dict:
    """Open complaints, riskiest SLA first."""
    rows = await complaints.queue(session, branch_ids=p.branch_ids("complaints", "list"))
    return {"items": [read(c) for c, _ in rows], "next_cursor": None}


@router.get("/{complaint_id}")
async def detail(session: Session, complaint_id: int, p: Principal = require("complaints", "read")) -> dict:
    c = await _get(session, p, complaint_id, "read")
    events = await complaints.events(session, c.id)
    atts = await complaints.attachments(session, c.id)
    return {
        **read(c),
        "events": [
            {
                "kind": e.kind,
                "at": e.at.isoformat(),
                "detail": e.detail,
                "level": e.level,
                "actor": e.actor_name,
            }
            for e in events
        ],
        "attachments": [
            {"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type} for a in atts
        ],
    }


async def act(request: Request, session: AsyncSession, p: Principal, cid: int, what: str, body) -> Complaint:
    """Apply a state change to the record, commit, then tell the workflow. Shared with the page."""
    c = await _get(session, p, cid, "update")
    actor = p.actor()
    if what == "reply":
        first = c.responded_at is None
        c = await complaints.respond(session, actor=actor, complaint_id=cid, message=body.message)
        signal, arg = (ComplaintWorkflow.responded, None) if first else (None, None)
    elif what == "await":
        c = await complaints.await_customer(session, actor=actor, complaint_id=cid, note=body.message)
        signal, arg = ComplaintWorkflow.awaiting_customer, None
    elif what == "replied":
        c = await complaints.customer_replied(session, actor=actor, complaint_id=cid, note=body.message)
        signal, arg = ComplaintWorkflow.customer_replied, None
    elif what == "resolve":
        c = await complaints.resolve(
            session,
            actor=actor,
            complaint_id=cid,
            outcome=body.outcome,
            compensation=body.compensation,
            amount_minor=body.amount_minor,
        )
        refund = body.amount_minor if body.compensation == "refund" else None
        signal, arg = (
            ComplaintWorkflow.resolved,
            Resolution(
                refund_minor=refund,
                currency=c.currency,
                requested_by_id=p.user_id,
                requested_by_name=p.full_name,
            ),
        )
    else:
        c = await complaints.reopen(
            session,
            actor=actor,
            complaint_id=cid,
            reason=body.reason,
            window_minutes=request.app.state.settings.complaint_reopen_minutes,
        )
        signal, arg = ComplaintWorkflow.reopen, None
    if signal is not None:
        await wf.signal(session, c.workflow_id, signal, arg)
    return c


@router.post("/{complaint_id}/reply")
async def reply(
    session: Session,
    complaint_id: int,
    body: Reply,
    request: Request,
    p: Principal = require("complaints", "update"),
) -> dict:
    """Reply to the customer; the first reply meets the first-response SLA."""
    return read(await act(request, session, p, complaint_id, "reply", body))


@router.post("/{complaint_id}/awaiting-customer")
async def awaiting_customer(
    session: Session,
    complaint_id: int,
    body: Note,
    request: Request,
    p: Principal = require("complaints", "update"),
) -> dict:
    """Pause the SLA clocks until the customer replies."""
    return read(await act(request, session, p, complaint_id, "await", body))


@router.post("/{complaint_id}/customer-replied")
async def customer_replied(
    session: Session,
    complaint_id: int,
    body: Note,
    request: Request,
    p: Principal = require("complaints", "update"),
) -> dict:
    """The customer answered: the clocks run again."""
    return read(await act(request, session, p, complaint_id, "replied", body))


@router.post("/{complaint_id}/resolve")
async def resolve(
    session: Session,
    complaint_id: int,
    body: Resolve,
    request: Request,
    p: Principal = require("complaints", "update"),
) -> dict:
    """Resolve with outcome and compensation (goodwill posts now; a refund asks approval)."""
    return read(await act(request, session, p, complaint_id, "resolve", body))


@router.post("/{complaint_id}/reopen")
async def reopen(
    session: Session,
    complaint_id: int,
    body: Reopen,
    request: Request,
    p: Principal = require("complaints", "update"),
) -> dict:
    """Reopen within the window; the same workflow resumes."""
    return read(await act(request, session, p, complaint_id, "reopen", body))


@router.post("/{complaint_id}/attachments", status_code=201)
async def attach(
    session: Session,
    complaint_id: int,
    request: Request,
    file: UploadFile = File(...),
    p: Principal = require("complaints", "update"),
) -> dict:
    """Attach a PNG, JPEG, PDF or text file (size-limited)."""
    await _get(session, p, complaint_id, "update")
    settings = request.app.state.settings
    data = await file.read(settings.attachment_max_bytes + 1)
    att = await complaints.attach(
        session,
        actor=p.actor(),
        complaint_id=complaint_id,
        filename=file.filename or "",
        data=data,
        var_dir=settings.var_dir,
        max_bytes=settings.attachment_max_bytes,
    )
    return {"id": att.id, "filename": att.filename, "size": att.size, "content_type": att.content_type}
