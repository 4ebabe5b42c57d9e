"""CRM API: interactions and follow-up tasks of a customer; the caller's own open tasks."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api import workflow_calls as wf
from api.deps import Session, require
from backroom.auth.principal import Principal
from backroom.crm import service as crm
from backroom.crm.models import FollowUpTask
from backroom.crm.schemas import InteractionCreate, InteractionRead, TaskCreate, TaskRead
from backroom.customers import service as customers
from workflows.crm import CompleteTask, FollowUpInput, FollowUpWorkflow

log = logging.getLogger("backroom.api")
router = APIRouter(prefix="/api/v1", tags=["crm"])


async def _customer(session: AsyncSession, p: Principal, customer_id: int, action: str):
    c = await customers.get_customer(session, customer_id)
    p.require("crm", action, branch_id=c.home_branch_id)
    return c


@router.post("/customers/{customer_id}/interactions", status_code=201)
async def log_interaction(
    session: Session, customer_id: int, body: InteractionCreate, p: Principal = require("crm", "create")
) -> dict:
    """Log a call, email, visit or note."""
    await _customer(session, p, customer_id, "create")
    row = await crm.log_interaction(session, actor=p.actor(), customer_id=customer_id, **body.model_dump())
    return InteractionRead.model_validate(row).model_dump(mode="json")


@router.get("/customers/{customer_id}/interactions")
async def interactions(
    session: Session,
    customer_id: int,
    limit: int = 50,
    cursor: str | None = None,
    p: Principal = require("crm", "read"),
) -> dict:
    await _customer(session, p, customer_id, "read")
    page = await crm.interactions(session, customer_id=customer_id, limit=limit, cursor=cursor)
    return {
        "items": [InteractionRead.model_validate(i).model_dump(mode="json") for i in page.items],
        "next_cursor": page.next_cursor,
    }


async def create_and_start(
    request: Request, session: AsyncSession, p: Principal, customer_id: int, body: TaskCreate
) -> FollowUpTask:
    """Shared by the API and the page: create the task, commit, start followup-{id}."""
    await _customer(session, p, customer_id, "create")
    data = body.model_dump()
    data["assignee_id"] = data["assignee_id"] or p.user_id
    task = await crm.create_task(session, actor=p.actor(), customer_id=customer_id, **data)
    await wf.start(
        session,
        FollowUpWorkflow.run,
        FollowUpInput(
            task_id=task.id,
            due_at=task.due_at,
            grace_minutes=request.app.state.settings.followup_grace_minutes,
        ),
        workflow_id=task.workflow_id,
        branch_id=task.branch_id,
        customer_id=customer_id,
    )
    return task


@router.post("/customers/{customer_id}/tasks", status_code=201)
async def create_task(
    session: Session,
    customer_id: int,
    body: TaskCreate,
    request: Request,
    p: Principal = require("crm", "create"),
) -> dict:
    """Create a follow-up task; FollowUpWorkflow reminds and escalates it."""
    task = await create_and_start(request, session, p, customer_id, body)
    return TaskRead.model_validate(task).model_dump(mode="json")


@router.get("/customers/{customer_id}/tasks")
async def customer_tasks(session: Session, customer_id: int, p: Principal = require("crm", "read")) -> dict:
    await _customer(session, p, customer_id, "read")
    rows = await crm.tasks_for_customer(session, customer_id)
    return {"items": [TaskRead.model_validate(t).model_dump(mode="json") for t in rows], "next_cursor": None}


@router.get("/tasks/mine")
async def my_tasks(session: Session, p: Principal = require("crm", "read")) -> dict:
    """The caller's open follow-ups, soonest due first."""
    rows = await crm.my_tasks(session, user_id=p.user_id)
    return {"items": [TaskRead.model_validate(t).model_dump(mode="json") for t in rows], "next_cursor": None}


async def complete(request: Request, session: AsyncSession, p: Principal, task_id: int) -> FollowUpTask:
    """Shared by the API and the page: record completion, commit, end the workflow (Update)."""
    task = await crm.get_task(session, task_id)
    if task.assignee_id != p.user_id:
        p.require("crm", "update", branch_id=task.branch_id)
    task = await crm.complete_task(session, actor=p.actor(), task_id=task_id)
    await session.commit()  # hold no SQLite write lock while the workflow's activities run
    h = (await request.app.state.temporal.client()).get_workflow_handle(task.workflow_id)
    try:
        await h.execute_update(FollowUpWorkflow.complete, CompleteTask(user_id=p.user_id))
    except Exception as exc:
        log.info("followup %s update not delivered: %s", task.workflow_id, exc)
    return task


@router.post("/tasks/{task_id}/complete")
async def complete_task(
    session: Session, task_id: int, request: Request, p: Principal = require("crm", "update")
) -> dict:
    """Mark a follow-up done; ends followup-{id}."""
    return TaskRead.model_validate(await complete(request, session, p, task_id)).model_dump(mode="json")
