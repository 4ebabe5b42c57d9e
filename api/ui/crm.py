"""Staff pages for CRM: my follow-up tasks, the mailbox, and the customer operations sections
(contacts, addresses, interactions, follow-ups, complaints, credit, timeline) of a customer."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from api.validation import summary
from backroom.auth.principal import Principal
from backroom.branches.service import with_sla
from backroom.complaints import service as complaints
from backroom.complaints.sla import sla_status
from backroom.credit import ledger
from backroom.crm import service as crm
from backroom.crm.schemas import InteractionCreate, TaskCreate
from backroom.customers import repository as customer_queries
from backroom.customers import service as customers
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.customers.schemas import AddressCreate, ContactCreate, EraseRequest, MergeRequest
from backroom.db.base import utcnow
from backroom.errors import not_found
from backroom.ids import RecordId
from backroom.notifications import service as notify

router = APIRouter(include_in_schema=False)
NAV = [("My tasks", "/tasks", ("crm", "read"), 45), ("Mailbox", "/mailbox", ("crm", "read"), 90)]


class TaskForm(BaseModel):
    """The page's task form: a datetime-local field, read in the signed-in user's time zone."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    due_at: datetime
    assignee_id: RecordId | None = None
    notes: str | None = Field(default=None, max_length=5000)


@router.get("/tasks")
async def tasks_page(session: Session, request: Request, p: Principal = require("crm", "read")):
    return render(request, "custops/tasks.html", p, **await my_work(session, p))


async def my_work(session: AsyncSession, p: Principal) -> dict:
    """The user's open follow-ups and the complaints escalated to them (also shown in the inbox)."""
    tasks = await crm.my_tasks(session, user_id=p.user_id)
    escalated = await complaints.escalated_to(session, grants=p.grants) if p.can("complaints", "read") else []
    ids = {t.customer_id for t in tasks} | {c.customer_id for c, _ in escalated}
    names = await customer_queries.names(session, ids)
    return {"tasks": tasks, "escalated": escalated, "names": names, "now": utcnow()}


@router.post("/tasks/{task_id}/complete")
async def complete(
    session: Session,
    temporal: TemporalFactory,
    task_id: Id,
    request: Request,
    p: Principal = require("crm", "update"),
):
    crm.authorize_completion(p, await crm.get_task(session, task_id))
    task = await crm.complete_task(session, actor=p.actor(), task_id=task_id)
    # Committed before the Update, which waits on the worker: no SQLite write lock is held
    # meanwhile (the workflow's activities write), and the workflow never ends for a rollback.
    await session.commit()
    await crm.end_followup(await temporal(), task=task, user_id=p.user_id)
    back = request.query_params.get("back") or "/tasks"
    return redirect(
        back if back.startswith("/") and not back.startswith("//") else "/tasks",
        flash=f"Task “{task.title}” done.",
    )


@router.get("/mailbox")
async def mailbox_page(
    session: Session, request: Request, cursor: str | None = None, p: Principal = require("crm", "read")
):
    page = await notify.mailbox(
        session, viewer_id=p.user_id, branch_ids=p.branch_ids("crm", "read"), limit=50, cursor=cursor
    )
    return render(request, "custops/mailbox.html", p, page=page)


async def sections(session: AsyncSession, p: Principal, customer: Customer) -> dict:
    """Everything the customer page's operations sections show. Read-only."""
    acct = await ledger.account_for(session, customer.id)
    view = await ledger.view(session, acct) if acct else None
    rows = await complaints.list_for_customer(session, customer.id)
    now = utcnow()
    return {
        "contacts": await customer_queries.contacts(session, customer.id),
        "addresses": await customer_queries.addresses(session, customer.id),
        "interactions": (await crm.interactions(session, customer_id=customer.id, limit=20)).items
        if p.can("crm", "read", customer.home_branch_id)
        else [],
        "followups": await crm.tasks_for_customer(session, customer.id),
        "complaint_rows": await with_sla(session, rows, sla_status, now),
        "credit": view,
        "aging": await ledger.aging(session, account_id=acct.id) if acct else None,
        "timeline": await customers.timeline(
            session, customer_id=customer.id, limit=50, may_read=p.reader(customer.home_branch_id)
        ),
        "staff": await crm.assignable_staff(session),
    }


async def _customer(
    session: AsyncSession, p: Principal, customer_id: int, function: str, action: str
) -> Customer:
    c = await customers.get_customer(session, customer_id)
    p.require(function, action, branch_id=c.home_branch_id)
    return c


def _back(customer_id: int) -> str:
    return f"/customers/{customer_id}"


async def _form(request, model):
    body, errors, _ = await parse_form(request, model)
    return body, summary(errors)


# The customer page's "add" forms: (permission, form model, service call, message).
ADD_FORMS = {
    "interactions": (("crm", "create"), InteractionCreate, crm.log_interaction, "Interaction logged."),
    "contacts": (("customers", "update"), ContactCreate, customers.add_contact, "Contact added."),
    "addresses": (("customers", "update"), AddressCreate, customers.add_address, "Address added."),
}


@router.post("/customers/{customer_id}/{kind}/new")
async def add_record(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    kind: str,
    request: Request,
    p: Principal = require("customers", "read"),
):
    """Log an interaction or add a contact or address from the customer page."""
    if kind == "tasks":
        return await _new_task(customer_id, request, session, settings, p)
    if kind not in ADD_FORMS:
        raise not_found("Page", kind)
    (function, action), model, add, done = ADD_FORMS[kind]
    await _customer(session, p, customer_id, function, action)
    body, err = await _form(request, model)
    if body is None:
        return redirect(_back(customer_id), flash=f"Not saved: {err}")
    await add(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return redirect(_back(customer_id), flash=done)


async def _new_task(customer_id: int, request: Request, session: AsyncSession, settings, p: Principal):
    body, err = await _form(request, TaskForm)
    if body is None:
        return redirect(_back(customer_id), flash=f"Not created: {err}")
    await _customer(session, p, customer_id, "crm", "create")
    if body.due_at.tzinfo is None:  # as typed: the user's local time (stored in UTC)
        body.due_at = body.due_at.replace(tzinfo=ZoneInfo(p.timezone)).astimezone(UTC)
    task = await crm.create_followup(
        session,
        customer_id=customer_id,
        data=TaskCreate(**body.model_dump()),
        actor=p.actor(),
        grace_minutes=settings.followup_grace_minutes,
    )
    return redirect(_back(customer_id), flash=f"Follow-up #{task.id} created.")


@router.post("/customers/{customer_id}/{kind}/{record_id}/remove")
async def remove(
    session: Session,
    customer_id: Id,
    kind: str,
    record_id: Id,
    p: Principal = require("customers", "update"),
):
    model = {"contacts": CustomerContact, "addresses": CustomerAddress}.get(kind)
    if model is None:
        raise not_found("Page", kind)
    await _customer(session, p, customer_id, "customers", "update")
    await customers.remove_record(
        session, actor=p.actor(), customer_id=customer_id, model=model, record_id=record_id
    )
    return redirect(_back(customer_id), flash="Removed.")


@router.post("/customers/{customer_id}/merge")
async def merge(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    request: Request,
    p: Principal = require("customers", "approve"),
):
    await _customer(session, p, customer_id, "customers", "approve")
    body, err = await _form(request, MergeRequest)
    if body is None:
        return redirect(_back(customer_id), flash=f"Not merged: {err}")
    await _customer(session, p, body.survivor_id, "customers", "approve")
    req = await customers.request_merge(
        session,
        actor=p.actor(),
        loser_id=customer_id,
        survivor_id=body.survivor_id,
        hours=settings.four_eyes_hours,
    )
    return redirect(
        _back(customer_id), flash=f"Merge sent for approval (request #{req.id}): another manager decides."
    )


@router.post("/customers/{customer_id}/erase")
async def erase(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    request: Request,
    p: Principal = require("customers", "approve"),
):
    await _customer(session, p, customer_id, "customers", "approve")
    body, err = await _form(request, EraseRequest)
    if body is None:
        return redirect(_back(customer_id), flash=f"Not erased: {err}")
    req = await customers.request_erasure(
        session, actor=p.actor(), customer_id=customer_id, reason=body.reason, hours=settings.four_eyes_hours
    )
    return redirect(
        _back(customer_id), flash=f"Erasure sent for approval (request #{req.id}): another manager decides."
    )
