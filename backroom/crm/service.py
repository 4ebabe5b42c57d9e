"""CRM-lite: interactions (calls, emails, visits, notes) and follow-up tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import User
from backroom.crm.errors import TaskAlreadyDone
from backroom.crm.flow import followup_workflow_id
from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, not_found
from backroom.notifications import service as notify
from backroom.pagination import Page, paginate

OPEN_TASK = ("open", "reminded", "escalated")


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    c = await session.get(Customer, customer_id)
    if not c or c.status == "merged":
        raise not_found("Customer", customer_id)
    return c


async def log_interaction(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    channel: str,
    direction: str,
    subject: str | None = None,
    body: str | None = None,
    outcome: str | None = None,
    occurred_at: datetime | None = None,
    branch_id: int | None = None,
) -> Interaction:
    """Log a call, email, visit or note against a customer. Not idempotent (a new record)."""
    customer = await _customer(session, customer_id)
    row = Interaction(
        customer_id=customer_id,
        channel=channel,
        direction=direction,
        subject=subject,
        body=body,
        outcome=outcome,
        occurred_at=occurred_at or utcnow(),
        staff_id=actor.user_id,
        branch_id=branch_id or customer.home_branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="interaction.log",
        entity_type="customer",
        entity_id=customer_id,
        branch_id=row.branch_id,
        after=audit.snapshot(row),
    )
    return row


async def interactions(
    session: AsyncSession, *, customer_id: int, limit: int = 50, cursor: str | None = None
) -> Page:
    stmt = select(Interaction).where(Interaction.customer_id == customer_id)
    return await paginate(
        session,
        stmt,
        sort_col=Interaction.occurred_at,
        id_col=Interaction.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


async def create_task(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    title: str,
    due_at: datetime,
    assignee_id: int,
    notes: str | None = None,
    interaction_id: int | None = None,
    branch_id: int | None = None,
) -> FollowUpTask:
    """Create a follow-up task; the caller starts FollowUpWorkflow (followup-{id}) after commit."""
    customer = await _customer(session, customer_id)
    if not await session.get(User, assignee_id):
        raise InvalidInput("The assignee does not exist.", field="assignee_id")
    if due_at.tzinfo is None:
        raise InvalidInput("The due time needs a time zone.", field="due_at")
    task = FollowUpTask(
        customer_id=customer_id,
        title=title,
        notes=notes,
        due_at=due_at,
        assignee_id=assignee_id,
        interaction_id=interaction_id,
        status="open",
        branch_id=branch_id or customer.home_branch_id,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(task)
    await session.flush()
    task.workflow_id = followup_workflow_id(task.id)
    await audit.record(
        session,
        actor=actor,
        action="followup.create",
        entity_type="followup_task",
        entity_id=task.id,
        branch_id=task.branch_id,
        after=audit.snapshot(task),
    )
    return task


async def get_task(session: AsyncSession, task_id: int) -> FollowUpTask:
    task = await session.get(FollowUpTask, task_id)
    if not task:
        raise not_found("Follow-up task", task_id)
    return task


async def complete_task(session: AsyncSession, *, actor: Actor, task_id: int) -> FollowUpTask:
    """Mark a task done (the caller then ends its workflow with the `complete` Update)."""
    task = await get_task(session, task_id)
    if task.status == "done":
        raise TaskAlreadyDone(f"Task #{task.id} is already done.")
    before = audit.snapshot(task)
    task.status, task.completed_at, task.completed_by_id = "done", utcnow(), actor.user_id
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="followup.complete",
        entity_type="followup_task",
        entity_id=task.id,
        branch_id=task.branch_id,
        before=before,
        after=audit.snapshot(task),
    )
    return task


async def remind(session: AsyncSession, *, actor: Actor, task_id: int) -> bool:
    """Due: remind the assignee (notification; the task shows in their inbox). Idempotent."""
    task = await get_task(session, task_id)
    if task.status != "open":
        return False
    before = audit.snapshot(task)
    task.status, task.reminded_at = "reminded", utcnow()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="followup.remind",
        entity_type="followup_task",
        entity_id=task.id,
        branch_id=task.branch_id,
        before=before,
        after=audit.snapshot(task),
    )
    await notify.enqueue(
        session,
        kind="followup.due",
        to_user_id=task.assignee_id,
        branch_id=task.branch_id,
        subject=f"Follow-up due: {task.title}",
        body=f"Task #{task.id} is due now.",
        link=f"/customers/{task.customer_id}",
        dedupe_key=f"followup-{task.id}:due",
    )
    return True


async def escalate(session: AsyncSession, *, actor: Actor, task_id: int) -> bool:
    """Missed past the grace time: tell the branch managers. Idempotent."""
    task = await get_task(session, task_id)
    if task.status not in ("open", "reminded"):
        return False
    before = audit.snapshot(task)
    task.status, task.escalated_at = "escalated", utcnow()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="followup.escalate",
        entity_type="followup_task",
        entity_id=task.id,
        branch_id=task.branch_id,
        before=before,
        after=audit.snapshot(task),
    )
    assignee = await session.get(User, task.assignee_id)
    await notify.notify_role(
        session,
        role="manager",
        branch_id=task.branch_id,
        kind="followup.missed",
        subject=f"Missed follow-up: {task.title}",
        body=f"Task #{task.id} for {assignee.full_name if assignee else 'a colleague'} "
        f"was due at {task.due_at:%Y-%m-%d %H:%M} UTC and is still open.",
        link=f"/customers/{task.customer_id}",
        dedupe_prefix=f"followup-{task.id}:missed",
    )
    return True


async def my_tasks(session: AsyncSession, *, user_id: int, include_done: bool = False) -> list[FollowUpTask]:
    """The user's follow-ups, soonest due first. Read-only."""
    stmt = select(FollowUpTask).where(FollowUpTask.assignee_id == user_id)
    if not include_done:
        stmt = stmt.where(FollowUpTask.status.in_(OPEN_TASK))
    return list(
        (await session.execute(stmt.order_by(FollowUpTask.due_at, FollowUpTask.id).limit(200))).scalars()
    )


async def tasks_for_customer(session: AsyncSession, customer_id: int) -> list[FollowUpTask]:
    rows = await session.execute(
        select(FollowUpTask)
        .where(FollowUpTask.customer_id == customer_id)
        .order_by(FollowUpTask.due_at.desc())
    )
    return list(rows.scalars())
