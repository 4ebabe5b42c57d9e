"""CRM-lite: interactions (calls, emails, visits, notes) and follow-up tasks."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.crm import flow
from backroom.crm.errors import TaskAlreadyDone
from backroom.crm.flow import followup_workflow_id
from backroom.crm.models import Direction, FollowUpTask, Interaction, InteractionChannel, TaskStatus
from backroom.crm.schemas import TaskCreate
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, NotFound, Refused, not_found
from backroom.notifications import service as notify
from backroom.pagination import Page, paginate
from backroom.starts import service as starts

log = logging.getLogger("backroom.crm")
OPEN_TASK = (TaskStatus.open, TaskStatus.reminded, TaskStatus.escalated)


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    return await customers.writable(session, customer_id)


async def log_interaction(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    channel: InteractionChannel,
    direction: Direction,
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
    """Create a follow-up task record (create_followup also queues its workflow)."""
    customer = await _customer(session, customer_id)
    if not await session.get(User, assignee_id):
        raise NotFound("The assignee does not exist.", field="assignee_id")
    if due_at.tzinfo is None:
        raise InvalidInput("The due time needs a time zone.", field="due_at")
    if interaction_id is not None:
        interaction = await session.get(Interaction, interaction_id)
        if interaction is None or interaction.customer_id != customer_id:
            raise Refused("That interaction is not one of this customer's.", field="interaction_id")
    task = FollowUpTask(
        customer_id=customer_id,
        title=title,
        notes=notes,
        due_at=due_at,
        assignee_id=assignee_id,
        interaction_id=interaction_id,
        status=TaskStatus.open,
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


async def create_followup(
    session: AsyncSession, *, customer_id: int, data: TaskCreate, actor: Actor, grace_minutes: int
) -> FollowUpTask:
    """Create a follow-up (assigned to the actor unless someone is named) and queue
    FollowUpWorkflow (followup-{id}): it reminds at the due time and escalates `grace_minutes`
    later. Not idempotent (a new task each time)."""
    fields = data.model_dump()
    fields["assignee_id"] = fields["assignee_id"] or actor.user_id
    task = await create_task(session, actor=actor, customer_id=customer_id, **fields)
    await starts.enqueue(
        session,
        run=flow.FOLLOWUP_WORKFLOW,
        arg=flow.FollowUpInput(task_id=task.id, due_at=task.due_at, grace_minutes=grace_minutes),
        workflow_id=task.workflow_id,
        branch_id=task.branch_id,
        customer_id=customer_id,
    )
    return task


async def get_task(session: AsyncSession, task_id: int) -> FollowUpTask:
    task = await session.get(FollowUpTask, task_id)
    if not task:
        raise not_found("Follow-up task", task_id)
    return task


def authorize_completion(p: Principal, task: FollowUpTask) -> None:
    """The assignee may complete their own task; anyone else needs crm/update in its branch."""
    if task.assignee_id != p.user_id:
        p.require("crm", "update", branch_id=task.branch_id)


async def complete_task(session: AsyncSession, *, actor: Actor, task_id: int) -> FollowUpTask:
    """Mark a task done (after the commit, `end_followup` ends its workflow)."""
    task = await get_task(session, task_id)
    if task.status == TaskStatus.done:
        raise TaskAlreadyDone(f"Task #{task.id} is already done.")
    before = audit.snapshot(task)
    task.status, task.completed_at, task.completed_by_id = TaskStatus.done, utcnow(), actor.user_id
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


async def end_followup(client: Client, *, task: FollowUpTask, user_id: int | None) -> None:
    """Tell followup-{id} the task was done, once the completion is committed; the workflow
    ends. Best effort: a workflow that already finished or cannot be reached is logged (the
    record is the truth, and a finished workflow has nothing left to remind)."""
    handle = client.get_workflow_handle(task.workflow_id)
    try:
        await handle.execute_update(flow.FOLLOWUP_COMPLETE, flow.CompleteTask(user_id=user_id))
    except Exception as exc:  # RPC or update failure alike: the task stays done either way
        log.info("followup %s update not delivered: %s", task.workflow_id, exc)


async def remind(session: AsyncSession, *, actor: Actor, task_id: int) -> bool:
    """Due: remind the assignee (notification; the task shows in their inbox). Idempotent."""
    task = await get_task(session, task_id)
    if task.status != TaskStatus.open:
        return False
    before = audit.snapshot(task)
    task.status, task.reminded_at = TaskStatus.reminded, utcnow()
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
    if task.status not in (TaskStatus.open, TaskStatus.reminded):
        return False
    before = audit.snapshot(task)
    task.status, task.escalated_at = TaskStatus.escalated, utcnow()
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


async def assignable_staff(session: AsyncSession, *, limit: int = 200) -> list[tuple[int, str]]:
    """(id, name) of the active staff a follow-up may be assigned to, by name. Read-only."""
    rows = await session.execute(
        select(User.id, User.full_name).where(User.is_active.is_(True)).order_by(User.full_name).limit(limit)
    )
    return [tuple(r) for r in rows.all()]


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
