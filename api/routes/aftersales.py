"""After-sales API: cases (returns for refund, exchanges, repairs): list, queue by SLA risk,
the technician's work list, detail, open, note, and people's steps (sent to the workflow)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import Session, SettingsDep, require
from api.params import Id
from backroom.aftersales import control
from backroom.aftersales import service as aftersales
from backroom.aftersales.errors import CaseStateError
from backroom.aftersales.flow import STEPS, CaseAction, CaseView
from backroom.aftersales.schemas import CaseCreate, CaseDetail, CaseRead, CaseStep, CaseUpdate
from backroom.auth.principal import Principal
from backroom.pagination import CursorText

router = APIRouter(prefix="/api/v1/aftersales/cases", tags=["after-sales"])


class CasePage(BaseModel):
    items: list[CaseRead]
    next_cursor: CursorText | None = None


async def _case(session, p: Principal, case_id: int, action: str):
    c = await aftersales.get(session, case_id)
    p.require("service", action, branch_id=c.branch_id)
    return c


@router.get("")
async def list_cases(
    session: Session,
    state: str | None = None,
    kind: str | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    include_closed: bool = False,
    p: Principal = require("service", "list"),
) -> CasePage:
    """Cases by state (open ones unless asked), riskiest SLA first."""
    rows = await aftersales.queue(
        session,
        branch_ids=p.branch_ids("service", "list"),
        state=state,
        kind=kind,
        customer_id=customer_id,
        order_id=order_id,
        include_closed=include_closed,
    )
    return CasePage(items=await aftersales.reads(session, rows))


@router.get("/work")
async def work_list(session: Session, p: Principal = require("service", "submit")) -> CasePage:
    """The technician's work list: repairs waiting on diagnosis, repair or quality check."""
    rows = await aftersales.work_list(session, branch_ids=p.branch_ids("service", "submit"))
    return CasePage(items=await aftersales.reads(session, rows))


@router.get("/{case_id:id}")
async def get_case(session: Session, case_id: Id, p: Principal = require("service", "read")) -> CaseDetail:
    return await aftersales.detail(session, await _case(session, p, case_id, "read"))


@router.post("", status_code=201)
async def open_case(
    session: Session, body: CaseCreate, settings: SettingsDep, p: Principal = require("service", "create")
) -> CaseRead:
    """Open a case and queue its workflow (rma-{id})."""
    p.require("service", "create", branch_id=await aftersales.branch_for(session, body))
    c = await aftersales.open_case(session, actor=p.actor(), data=body, settings=settings)
    return (await aftersales.reads(session, [(c, aftersales.sla_status(c, c.created_at))]))[0]


@router.patch("/{case_id:id}")
async def note_case(
    session: Session, case_id: Id, body: CaseUpdate, p: Principal = require("service", "update")
) -> CaseDetail:
    """A note on the timeline (talking to the customer) or the serial read off the unit."""
    c = await _case(session, p, case_id, "update")
    await aftersales.note(session, actor=p.actor(), case_id=c.id, text=body.note, serial=body.serial)
    return await aftersales.detail(session, c)


@router.post("/{case_id:id}/steps")
async def take_step(
    session: Session, case_id: Id, body: CaseStep, request: Request, p: Principal = require("service", "read")
) -> CaseView:
    """A person's step (approve, receive, diagnose, quote, repaired, qc_pass, qc_fail, hand_over,
    cancel...). Who may take it depends on the step; the workflow refuses one the state does
    not allow. Returns once the case shows it."""
    step = STEPS.get(body.action)
    if step is None:
        raise CaseStateError(f"{body.action!r} is not a step of a case.")
    c = await _case(session, p, case_id, step.permission)
    await session.commit()  # hold no transaction while the workflow works
    client = await request.app.state.temporal.client()
    return await control.send_step(
        client, c, CaseAction(user_id=p.user_id, user_name=p.full_name, **body.model_dump())
    )
