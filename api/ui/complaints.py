"""Staff pages for complaints: the queue sorted by SLA risk, logging, and the complaint page."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import FileResponse

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.ui.common import parse_filter, parse_form, redirect, render
from api.validation import summary
from backroom.auth.principal import Principal
from backroom.auth.service import user_names
from backroom.branches.service import work_calendar
from backroom.complaints import service as complaints
from backroom.complaints.models import Channel, ComplaintAttachment, ComplaintStatus, Level
from backroom.complaints.schemas import ComplaintCreate, Note, QueueFilter, Reopen, Reply, Resolve
from backroom.complaints.sla import SEVERITIES, sla_status
from backroom.customers import repository as customer_queries
from backroom.customers import service as customers
from backroom.db.base import utcnow
from backroom.errors import AppError, not_found

router = APIRouter(include_in_schema=False)
NAV = [("Complaints", "/complaints", ("complaints", "list"), 40)]
CHANNELS = tuple(Channel)


@router.get("/complaints")
async def queue_page(session: Session, request: Request, p: Principal = require("complaints", "list")):
    """The queue, riskiest first, filtered by the user's own, level, status and customer."""
    filt = parse_filter(request, QueueFilter)
    rows = await complaints.queue(
        session, branch_ids=p.branch_ids("complaints", "list"), filt=filt, user_id=p.user_id
    )
    customer_ids = {c.customer_id for c, _ in rows} | ({filt.customer} if filt.customer else set())
    return render(
        request,
        "custops/complaint_queue.html",
        p,
        rows=rows,
        filt=filt,
        names=await customer_queries.names(session, customer_ids),
        staff=await user_names(session, {c.assignee_id for c, _ in rows if c.assignee_id}),
        levels=tuple(Level),
        statuses=("open", *(s for s in ComplaintStatus if s != "open"), "all"),
    )


async def _chosen(session, customer_id) -> dict:
    """The chosen customer's name (for the picker) and orders to choose from (none until the
    customer is known)."""
    try:
        cid = int(customer_id) if customer_id else None
    except ValueError:
        cid = None
    if cid is None or not 0 < cid < 2**63:
        return {"orders": [], "customer_name": ""}
    return {
        "orders": await complaints.orders_to_choose(session, cid),
        "customer_name": (await customer_queries.names(session, {cid})).get(cid, ""),
    }


@router.get("/complaints/new")
async def new_page(
    session: Session,
    request: Request,
    customer_id: int | None = None,
    p: Principal = require("complaints", "create"),
):
    values = {"customer_id": customer_id or "", "severity": "medium", "channel": "phone"}
    return render(
        request,
        "custops/complaint_new.html",
        p,
        values=values,
        errors={},
        severities=SEVERITIES,
        channels=CHANNELS,
        **await _chosen(session, customer_id),
    )


@router.post("/complaints/new")
async def new_submit(
    session: Session, settings: SettingsDep, request: Request, p: Principal = require("complaints", "create")
):
    body, errors, raw = await parse_form(request, ComplaintCreate)
    if body is not None:
        try:
            customer = await customers.get_customer(session, body.customer_id)
            p.require("complaints", "create", branch_id=customer.home_branch_id)
            async with session.begin_nested():  # a refusal undoes this attempt only; the form renders
                c = await complaints.open_complaint(
                    session,
                    data=body,
                    actor=p.actor(),
                    sla=settings.complaint_sla,
                    reopen_minutes=settings.complaint_reopen_minutes,
                )
            return redirect(f"/complaints/{c.id}", flash=f"Complaint #{c.id} logged.")
        except AppError as exc:
            errors = {exc.extra.get("field", "customer_id"): exc.detail}
    return render(
        request,
        "custops/complaint_new.html",
        p,
        status=422,
        values=raw,
        errors=errors,
        severities=SEVERITIES,
        channels=CHANNELS,
        **await _chosen(session, raw.get("customer_id")),
    )


@router.get("/complaints/{complaint_id}")
async def detail_page(
    session: Session, complaint_id: Id, request: Request, p: Principal = require("complaints", "read")
):
    c = await complaints.get(session, complaint_id)
    p.require("complaints", "read", branch_id=c.branch_id)
    customer = await customers.get_customer(session, c.customer_id)
    return render(
        request,
        "custops/complaint.html",
        p,
        c=c,
        sla=sla_status(c, utcnow(), await work_calendar(session, c.branch_id)),
        customer=customer,
        events=await complaints.events(session, c.id),
        attachments=await complaints.attachments(session, c.id),
        can_update=p.can("complaints", "update", c.branch_id),
        errors={},
        values={},
    )


def _transitions(settings) -> dict:
    """The page's forms: (form model, the use case of that transition given the form)."""
    return {
        "reply": (
            Reply,
            lambda s, a, cid, b: complaints.respond(s, actor=a, complaint_id=cid, message=b.message),
        ),
        "await": (
            Note,
            lambda s, a, cid, b: complaints.await_customer(s, actor=a, complaint_id=cid, note=b.message),
        ),
        "replied": (
            Note,
            lambda s, a, cid, b: complaints.customer_replied(s, actor=a, complaint_id=cid, note=b.message),
        ),
        "resolve": (
            Resolve,
            lambda s, a, cid, b: complaints.resolve(
                s, actor=a, complaint_id=cid, settings=settings, **b.model_dump()
            ),
        ),
        "reopen": (
            Reopen,
            lambda s, a, cid, b: complaints.reopen(
                s,
                actor=a,
                complaint_id=cid,
                reason=b.reason,
                window_minutes=settings.complaint_reopen_minutes,
            ),
        ),
    }


@router.post("/complaints/{complaint_id}/{what}")
async def act(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    what: str,
    request: Request,
    p: Principal = require("complaints", "update"),
):
    forms = _transitions(settings)
    if what not in forms:
        raise not_found("Page", what)
    model, use_case = forms[what]
    c = await complaints.get(session, complaint_id)
    p.require("complaints", "update", branch_id=c.branch_id)
    currency = (await customers.get_customer(session, c.customer_id)).currency  # compensation is typed in it
    body, errors, _raw = await parse_form(request, model, currency=currency)
    if body is None:
        return redirect(
            f"/complaints/{complaint_id}",
            flash=f"Not saved: {summary(errors)}",
        )
    await use_case(session, p.actor(), complaint_id, body)
    return redirect(f"/complaints/{complaint_id}", flash="Saved.")


@router.post("/complaints/{complaint_id}/attachments/new")
async def attach(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    file: UploadFile = File(...),
    p: Principal = require("complaints", "update"),
):
    c = await complaints.get(session, complaint_id)
    p.require("complaints", "update", branch_id=c.branch_id)
    data = await file.read(settings.attachment_max_bytes + 1)
    try:
        await complaints.attach(
            session,
            actor=p.actor(),
            complaint_id=c.id,
            filename=file.filename or "",
            data=data,
            var_dir=settings.var_dir,
            max_bytes=settings.attachment_max_bytes,
        )
    except AppError as exc:
        return redirect(f"/complaints/{c.id}", flash=f"Not attached: {exc.detail}")
    return redirect(f"/complaints/{c.id}", flash="File attached.")


@router.get("/complaints/{complaint_id}/attachments/{attachment_id}")
async def download(
    session: Session,
    settings: SettingsDep,
    complaint_id: Id,
    attachment_id: Id,
    p: Principal = require("complaints", "read"),
):
    c = await complaints.get(session, complaint_id)
    p.require("complaints", "read", branch_id=c.branch_id)
    att = await session.get(ComplaintAttachment, attachment_id)
    if not att or att.complaint_id != c.id:
        raise not_found("Attachment", attachment_id)
    return FileResponse(settings.var_dir / att.path, media_type=att.content_type, filename=att.filename)
