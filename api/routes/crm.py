"""CRM API: interactions and follow-up tasks of a customer; the caller's own open tasks."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, SettingsDep, TemporalFactory, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.crm import service as crm
from backroom.crm.schemas import (
    InteractionCreate,
    InteractionRead,
    TaskCreate,
    TaskRead,
)
from backroom.customers import service as customers
from backroom.pagination import CursorText, PageRead

router = APIRouter(prefix="/api/v1", tags=["crm"])


async def _customer(session: AsyncSession, p: Principal, customer_id: int, action: str):
    c = await customers.get_customer(session, customer_id)
    p.require("crm", action, branch_id=c.home_branch_id)
    return c


@router.post("/customers/{customer_id:id}/interactions", status_code=201)
async def log_interaction(
    session: Session, customer_id: Id, body: InteractionCreate, p: Principal = require("crm", "create")
) -> InteractionRead:
    """Log a call, email, visit or note."""
    await _customer(session, p, customer_id, "create")
    row = await crm.log_interaction(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return InteractionRead.model_validate(row)


@router.get("/customers/{customer_id:id}/interactions")
async def interactions(
    session: Session,
    customer_id: Id,
    limit: int = 50,
    cursor: CursorText | None = None,
    p: Principal = require("crm", "read"),
) -> PageRead[InteractionRead]:
    await _customer(session, p, customer_id, "read")
    page = await crm.interactions(session, customer_id=customer_id, limit=limit, cursor=cursor)
    return PageRead[InteractionRead].of(page, InteractionRead)


@router.post("/customers/{customer_id:id}/tasks", status_code=201)
async def create_task(
    session: Session,
    settings: SettingsDep,
    customer_id: Id,
    body: TaskCreate,
    p: Principal = require("crm", "create"),
) -> TaskRead:
    """Create a follow-up task; FollowUpWorkflow reminds and escalates it."""
    await _customer(session, p, customer_id, "create")
    task = await crm.create_followup(
        session,
        customer_id=customer_id,
        data=body,
        actor=p.actor(),
        grace_minutes=settings.followup_grace_minutes,
    )
    return TaskRead.model_validate(task)


@router.get("/customers/{customer_id:id}/tasks")
async def customer_tasks(
    session: Session, customer_id: Id, p: Principal = require("crm", "read")
) -> PageRead[TaskRead]:
    await _customer(session, p, customer_id, "read")
    rows = await crm.tasks_for_customer(session, customer_id)
    return PageRead[TaskRead](items=[TaskRead.model_validate(t) for t in rows])


@router.get("/tasks/mine")
async def my_tasks(session: Session, p: Principal = require("crm", "read")) -> PageRead[TaskRead]:
    """The caller's open follow-ups, soonest due first."""
    rows = await crm.my_tasks(session, user_id=p.user_id)
    return PageRead[TaskRead](items=[TaskRead.model_validate(t) for t in rows])


@router.post("/tasks/{task_id:id}/complete")
async def complete_task(
    session: Session, temporal: TemporalFactory, task_id: Id, p: Principal = require("crm", "update")
) -> TaskRead:
    """Mark a follow-up done; ends followup-{id}."""
    crm.authorize_completion(p, await crm.get_task(session, task_id))
    task = await crm.complete_task(session, actor=p.actor(), task_id=task_id)
    # Committed before the Update, which waits on the worker: no SQLite write lock is held
    # meanwhile (the workflow's activities write), and the workflow never ends for a rollback.
    await session.commit()
    await crm.end_followup(await temporal(), task=task, user_id=p.user_id)
    return TaskRead.model_validate(task)
