"""Complaints API: log, reply, wait on the customer, resolve, reopen, attach, queue by SLA risk."""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches.service import with_sla, work_calendar
from backroom.complaints import service as complaints
from backroom.complaints.models import Complaint, ComplaintStatus, Severity
from backroom.complaints.schemas import (
    AttachmentRead,
    ComplaintCreate,
    ComplaintDetail,
    ComplaintRead,
    ComplaintWithSla,
    EventRead,
    Note,
    Reopen,
    Reply,
    Resolve,
    SlaRead,
)
from backroom.complaints.sla import SlaInfo, sla_status
from backroom.customers import service as customers
from backroom.db.base import utcnow
from backroom.pagination import CursorText, PageRead

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


def read(c: Complaint, info: SlaInfo) -> ComplaintWithSla:
    return ComplaintWithSla(
        **ComplaintRead.model_validate(c).model_dump(),
        sla=SlaRead(status=info.status, used=info.used, due_at=info.due_at, paused=info.paused),
    )


async def read_one(session, c: Complaint) -> ComplaintWithSla:
    """One complaint with its SLA read in its branch's working calendar."""
    return read(c, sla_status(c, utcnow(), await work_calendar(session, c.branch_id)))


async def _get(session: AsyncSession, p: Principal, cid: int, action: str) -> Complaint:
    c = await complaints.get(session, cid)
    p.require("complaints", action, branch_id=c.branch_id)
    return c


@router.post("", status_code=201)
async def create(
    session: Session,
    settings: SettingsDep,
    body: ComplaintCreate,
    p: Principal = require("complaints", "create"),
) -> ComplaintWithSla:
    """Log a complaint and start ComplaintWorkflow (complaint-{id})."""
    customer = await customers.get_customer(session, body.customer_id)
    p.require("complaints", "create", branch_id=customer.home_branch_id)
    c = await complaints.open_complaint(
        session,
        data=body,
        actor=p.actor(),
        sla=settings.complaint_sla,
        reopen_minutes=settings.complaint_reopen_minutes,
    )
    return await read_one(session, c)


@router.get("")
async def listing(
    session: Session,
    status: ComplaintStatus | None = None,
    severity: Severity | None = None,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("complaints", "list"),
) -> PageRead[ComplaintWithSla]:
    page = await complaints.search(
        session,
        branch_ids=p.branch_ids("complaints", "list"),
        status=status,
        severity=severity,
        limit=limit,
        cursor=cursor,
    )
    return PageRead[ComplaintWithSla](
        items=[read(c, i) for c, i in await with_sla(session, page.items, sla_status, utcnow())],
        next_cursor=page.next_cursor,
    )


@router.get("/queue")
async def queue(session: Session, p: Principal = require("complaints", "list")) -> PageRead[ComplaintWithSla]:
    """Open complaints, riskiest SLA first."""
    rows = await complaints.queue(session, branch_ids=p.branch_ids("complaints", "list"))
    return PageRead[ComplaintWithSla](items=[read(c, i) for c, i in rows], next_cursor=None)


@router.get("/{complaint_id:id}")
async def detail(
    session: Session, complaint_id: Id, p: Principal = require("complaints", "read")
) -> ComplaintDetail:
    c = await _get(session, p, complaint_id, "read")
    return ComplaintDetail(
        **(await read_one(session, c)).model_dump(),
        events=[EventRead.model_validate(e) for e in await complaints.events(session, c.id)],
        attachments=[AttachmentRead.model_validate(a) for a in await complaints.attachments(session, c.id)],
    )


@router.post("/{complaint_id:id}/reply")
async def reply(
    session: Session, complaint_id: Id, body: Reply, p: Principal = require("complaints", "update")
) -> ComplaintWithSla:
    """Reply to the customer; the first reply meets the first-response SLA."""
    await _get(session, p, complaint_id, "update")
    return await read_one(
        session,
        await complaints.respond(session, actor=p.actor(), complaint_id=complaint_id, message=body.message),
    )


@router.post("/{complaint_id:id}/awaiting-customer")
async def awaiting_customer(
    session: Session, complaint_id: Id, body: Note, p: Principal = require("complaints", "update")
) -> ComplaintWithSla:
    """Pause the SLA clocks until the customer replies."""
    await _get(session, p, complaint_id, "update")
    return await read_one(
        session,
        await complaints.await_customer(
            session, actor=p.actor(), complaint_id=complaint_id, note=body.message
        ),
    )


@router.post("/{complaint_id:id}/customer-replied")
async def customer_replied(
    session: Session, complaint_id: Id, body: Note, p: Principal = require("complaints", "update")
) -> ComplaintWithSla:
    """The customer answered: the clocks run again."""
    await _get(session, p, complaint_id, "update")
    return await read_one(
        session,
        await complaints.customer_replied(
            session, actor=p.actor(), complaint_id=complaint_id, note=body.message
        ),
    )


@router.post("/{complaint_id:id}/resolve")
async def resolve(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    body: Resolve,
    p: Principal = require("complaints", "update"),
) -> ComplaintWithSla:
    """Resolve with outcome and compensation (goodwill up to the branch's threshold posts now,
    above it finance approves; a refund asks approval, then goes back to the card or account)."""
    await _get(session, p, complaint_id, "update")
    return await read_one(
        session,
        await complaints.resolve(
            session, actor=p.actor(), complaint_id=complaint_id, settings=settings, **body.model_dump()
        ),
    )


@router.post("/{complaint_id:id}/reopen")
async def reopen(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    body: Reopen,
    p: Principal = require("complaints", "update"),
) -> ComplaintWithSla:
    """Reopen within the window; the same workflow resumes."""
    await _get(session, p, complaint_id, "update")
    c = await complaints.reopen(
        session,
        actor=p.actor(),
        complaint_id=complaint_id,
        reason=body.reason,
        window_minutes=settings.complaint_reopen_minutes,
    )
    return await read_one(session, c)


@router.post("/{complaint_id:id}/attachments", status_code=201)
async def attach(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    file: UploadFile = File(...),
    p: Principal = require("complaints", "update"),
) -> AttachmentRead:
    """Attach a PNG, JPEG, PDF or text file (size-limited)."""
    await _get(session, p, complaint_id, "update")
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
    return AttachmentRead.model_validate(att)
