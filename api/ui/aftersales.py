"""Staff pages for after-sales and warranty: the case queue by state with SLA risk, the case
page with its timeline and steps, the technician's work list, opening a case, the warranty
look-up and page, the panel the customer and order pages embed; and the customer's public
quote page (a signed link, no account)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from api.validation import messages, summary
from backroom.aftersales import control
from backroom.aftersales import service as aftersales
from backroom.aftersales.errors import CaseStateError
from backroom.aftersales.flow import STEPS, CaseAction, QuoteLineIn
from backroom.aftersales.models import CaseKind, CaseState
from backroom.aftersales.schemas import CaseCreate
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.customers.models import Customer
from backroom.errors import AppError
from backroom.warranty import control as warranty_control
from backroom.warranty import service as warranty
from backroom.warranty.flow import WarrantyChange
from backroom.warranty.schemas import WarrantyCreate

router = APIRouter(include_in_schema=False)
NAV = [
    ("After-sales", "/aftersales", ("service", "list"), 45),
    ("Warranties", "/warranties", ("warranty", "list"), 46),
]


async def _zones(session: AsyncSession) -> dict[int, str]:
    return dict((await session.execute(select(Branch.id, Branch.timezone))).all())


def _local(zones: dict[int, str]):
    """A page helper: a UTC time in the branch's zone, as people read it there."""

    def when(value: datetime | None, branch_id: int) -> str:
        if value is None:
            return ""
        zone = ZoneInfo(zones.get(branch_id) or "UTC")
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    return when


# ---- cases -------------------------------------------------------------------------------
@router.get("/aftersales")
async def queue_page(
    session: Session, request: Request, state: str | None = None, p: Principal = require("service", "list")
):
    rows = await aftersales.queue(session, branch_ids=p.branch_ids("service", "list"), state=state or None)
    cases = await aftersales.reads(session, rows)
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.state] = counts.get(c.state, 0) + 1
    return render(
        request,
        "aftersales/queue.html",
        p,
        cases=cases,
        counts=counts,
        state=state,
        states=[s.value for s in CaseState],
        when=_local(await _zones(session)),
        title="After-sales cases",
    )


@router.get("/aftersales/work")
async def work_page(session: Session, request: Request, p: Principal = require("service", "submit")):
    rows = await aftersales.work_list(session, branch_ids=p.branch_ids("service", "submit"))
    return render(
        request,
        "aftersales/queue.html",
        p,
        cases=await aftersales.reads(session, rows),
        counts={},
        state=None,
        states=[],
        when=_local(await _zones(session)),
        title="Workshop: my work list",
    )


async def _new(session, request, p, values, errors, status=200):
    """The intake form, with the warranty status of what it names (serial or customer)."""
    serial = (values.get("serial") or "").strip()
    customer_id = str(values.get("customer_id") or "")
    covers = []
    if serial or customer_id.isdigit():
        rows = await warranty.lookup(
            session,
            branch_ids=p.branch_ids("warranty", "list"),
            serial=serial or None,
            customer_id=int(customer_id) if customer_id.isdigit() and len(customer_id) < 18 else None,
            limit=20,
        )
        covers = [(w, pn, cn, warranty.status_of(w)) for w, pn, cn in rows]
    return render(
        request,
        "aftersales/new.html",
        p,
        status=status,
        values=values,
        errors=errors,
        kinds=[k.value for k in CaseKind],
        covers=covers,
        when=_local(await _zones(session)),
    )


@router.get("/aftersales/new")
async def new_page(
    session: Session,
    request: Request,
    customer_id: int | None = None,
    order_line_id: int | None = None,
    serial: str | None = None,
    p: Principal = require("service", "create"),
):
    values = {
        "kind": "repair",
        "customer_id": customer_id or "",
        "order_line_id": order_line_id or "",
        "serial": serial or "",
    }
    return await _new(session, request, p, values, {})


@router.post("/aftersales/new")
async def new_submit(
    session: Session, request: Request, settings: SettingsDep, p: Principal = require("service", "create")
):
    body, errors, raw = await parse_form(request, CaseCreate)
    if body is not None:
        try:
            p.require("service", "create", branch_id=await aftersales.branch_for(session, body))
            c = await aftersales.open_case(session, actor=p.actor(), data=body, settings=settings)
            return redirect(f"/aftersales/{c.id}", flash=f"Case #{c.id} opened.")
        except AppError as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return await _new(session, request, p, raw, errors, status=422)


@router.get("/aftersales/{case_id}")
async def case_page(
    session: Session, request: Request, case_id: Id, p: Principal = require("service", "read")
):
    c = await aftersales.get(session, case_id)
    p.require("service", "read", branch_id=c.branch_id)
    detail = await aftersales.detail(session, c)
    steps = [(a, STEPS[a]) for a in detail.next_steps if p.can("service", STEPS[a].permission, c.branch_id)]
    cover = await warranty.get(session, c.warranty_id) if c.warranty_id else None
    return render(
        request,
        "aftersales/case.html",
        p,
        case=detail,
        steps=steps,
        cover=cover,
        cover_status=warranty.status_of(cover) if cover else None,
        when=_local(await _zones(session)),
    )


def _quote_lines(form) -> list[QuoteLineIn]:
    """Up to five part/labour rows from the quote form; empty rows are skipped."""
    lines = []
    for i in range(5):
        desc = (form.get(f"line{i}_description") or "").strip()
        if not desc:
            continue
        try:
            unit = round(float(form.get(f"line{i}_price") or "0") * 100)
            qty = int(form.get(f"line{i}_qty") or "1")
        except ValueError:
            raise CaseStateError(
                f"Line {i + 1}: enter the price as 12.50 and the quantity as a whole number."
            ) from None
        lines.append(
            QuoteLineIn(kind=form.get(f"line{i}_kind") or "part", description=desc, qty=qty, unit_minor=unit)
        )
    return lines


@router.post("/aftersales/{case_id}/steps")
async def step_submit(
    session: Session, request: Request, case_id: Id, p: Principal = require("service", "read")
):
    form = await request.form()
    action = form.get("action") or ""
    c = await aftersales.get(session, case_id)
    try:
        step = STEPS.get(action)
        if step is None:
            raise CaseStateError(f"{action!r} is not a step of a case.")
        p.require("service", step.permission, branch_id=c.branch_id)
        act = CaseAction(
            action=action,
            user_id=p.user_id,
            user_name=p.full_name,
            note=(form.get("note") or "").strip() or None,
            diagnosis=(form.get("diagnosis") or "").strip() or None,
            damaged=form.get("damaged") == "on",
            lines=_quote_lines(form) if action == "quote" else [],
        )
        await session.commit()  # hold no transaction while the workflow works
        view = await control.send_step(await request.app.state.temporal.client(), c, act)
        flash = f"{step.label}: the case is now {view.state.replace('_', ' ')}."
    except AppError as exc:
        flash = exc.detail
    except ValidationError as exc:
        flash = f"Check the form: {summary(messages(exc))}"
    return redirect(f"/aftersales/{case_id}", flash=flash)


@router.post("/aftersales/{case_id}/note")
async def note_submit(
    session: Session, request: Request, case_id: Id, p: Principal = require("service", "update")
):
    form = await request.form()
    c = await aftersales.get(session, case_id)
    p.require("service", "update", branch_id=c.branch_id)
    try:
        await aftersales.note(
            session,
            actor=p.actor(),
            case_id=c.id,
            text=(form.get("note") or "").strip() or None,
            serial=(form.get("serial") or "").strip() or None,
        )
        flash = "Noted."
    except AppError as exc:
        flash = exc.detail
    return redirect(f"/aftersales/{case_id}", flash=flash)


# ---- warranties --------------------------------------------------------------------------
@router.get("/warranties")
async def warranty_lookup(
    session: Session,
    request: Request,
    q: str | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    product_id: int | None = None,
    p: Principal = require("warranty", "list"),
):
    searched = any((q, customer_id, order_id, product_id))
    rows = (
        await warranty.lookup(
            session,
            branch_ids=p.branch_ids("warranty", "list"),
            q=q,
            customer_id=customer_id,
            order_id=order_id,
            product_id=product_id,
        )
        if searched
        else []
    )
    return render(
        request,
        "aftersales/warranties.html",
        p,
        rows=[(w, pn, cn, warranty.status_of(w)) for w, pn, cn in rows],
        q=q or "",
        searched=searched,
        when=_local(await _zones(session)),
        values={},
        errors={},
    )


@router.get("/warranties/panel")
async def warranty_panel(
    session: Session,
    request: Request,
    customer_id: int | None = None,
    order_id: int | None = None,
    p: Principal = require("warranty", "list"),
):
    """Embedded in the customer and order pages: warranty status and open cases."""
    branch_ids = p.branch_ids("warranty", "list")
    rows = (
        await warranty.lookup(session, branch_ids=branch_ids, customer_id=customer_id, order_id=order_id)
        if (customer_id or order_id)
        else []
    )
    cases = []
    if (customer_id or order_id) and p.can("service", "list"):
        cases = await aftersales.reads(
            session,
            await aftersales.queue(
                session,
                branch_ids=p.branch_ids("service", "list"),
                customer_id=customer_id,
                order_id=order_id,
                include_closed=True,
                limit=20,
            ),
        )
    return render(
        request,
        "aftersales/panel.html",
        p,
        rows=[(w, pn, cn, warranty.status_of(w)) for w, pn, cn in rows],
        cases=cases,
        when=_local(await _zones(session)),
    )


@router.post("/warranties/new")
async def warranty_register(session: Session, request: Request, p: Principal = require("warranty", "create")):
    body, errors, raw = await parse_form(request, WarrantyCreate)
    if body is not None:
        try:
            customer = await session.get(Customer, body.customer_id)
            p.require("warranty", "create", branch_id=customer.home_branch_id if customer else None)
            w = await warranty.register_manual(session, actor=p.actor(), data=body)
            return redirect(f"/warranties/{w.id}", flash=f"Warranty #{w.id} registered.")
        except AppError as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return render(
        request,
        "aftersales/warranties.html",
        p,
        status=422,
        rows=[],
        q="",
        searched=False,
        when=_local({}),
        values=raw,
        errors=errors,
    )


@router.get("/warranties/{warranty_id}")
async def warranty_page(
    session: Session, request: Request, warranty_id: Id, p: Principal = require("warranty", "read")
):
    w = await warranty.get(session, warranty_id)
    p.require("warranty", "read", branch_id=w.branch_id)
    product_name, customer_name = await warranty.names_of(session, w)
    return render(
        request,
        "aftersales/warranty.html",
        p,
        w=w,
        product_name=product_name,
        customer_name=customer_name,
        w_status=warranty.status_of(w),
        events=await warranty.events(session, w.id),
        when=_local(await _zones(session)),
    )


@router.post("/warranties/{warranty_id}/change")
async def warranty_change(
    session: Session, request: Request, warranty_id: Id, p: Principal = require("warranty", "update")
):
    form = await request.form()
    w = await warranty.get(session, warranty_id)
    p.require("warranty", "update", branch_id=w.branch_id)
    kind = form.get("kind")
    try:
        if kind not in ("extend", "transfer"):
            raise CaseStateError("Choose to extend or to transfer.")
        try:
            months = int(form.get("months") or 0) if kind == "extend" else None
            customer_id = int(form.get("customer_id") or 0) if kind == "transfer" else None
        except ValueError:
            raise CaseStateError("Enter whole numbers.") from None
        change = WarrantyChange(
            key=f"staff-{p.request_id}-{kind}",
            kind=kind,
            months=months,
            customer_id=customer_id,
            reason=(form.get("reason") or "").strip() or None,
            user_id=p.user_id,
            user_name=p.full_name,
        )
        await warranty.check_change(session, warranty_id=w.id, change=change)
        await session.commit()  # hold no transaction while the workflow's activities write
        st = await warranty_control.send_change(await request.app.state.temporal.client(), w, change)
        flash = f"Done: the warranty now ends {st.expires_at:%Y-%m-%d}."
    except AppError as exc:
        flash = exc.detail
    return redirect(f"/warranties/{warranty_id}", flash=flash)


@router.post("/warranties/{warranty_id}/edit")
async def warranty_edit(
    session: Session, request: Request, warranty_id: Id, p: Principal = require("warranty", "update")
):
    """Record the serial number read off the unit (deliveries register without one) or the proof."""
    form = await request.form()
    w = await warranty.get(session, warranty_id)
    p.require("warranty", "update", branch_id=w.branch_id)
    serial, proof = (form.get("serial") or "")[:100], (form.get("proof") or "")[:2000]
    try:
        await warranty.update(session, actor=p.actor(), warranty_id=w.id, serial=serial, proof=proof or None)
        flash = "Saved."
    except AppError as exc:
        flash = exc.detail
    return redirect(f"/warranties/{warranty_id}", flash=flash)
