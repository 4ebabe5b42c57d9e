"""FollowUpWorkflow: remind at the due time, escalate after the grace time, end on completion."""

from datetime import timedelta

from sqlalchemy import select

from backroom.crm import service as crm
from backroom.crm.flow import CompleteTask, FollowUpInput
from backroom.crm.models import FollowUpTask
from backroom.notifications.models import Notification
from tests.custops_helpers import create_customer, eventually, running_worker, staff
from tests.helpers import TEST_ACTOR
from workflows.crm import FollowUpWorkflow


async def _task(db, people, env, due_in: timedelta):
    now = await env.get_current_time()
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        task = await crm.create_task(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            title="Call back about quote",
            due_at=now + due_in,
            assignee_id=people["agent"].id,
        )
    return task


async def _status(db, tid):
    async with db.sessionmaker() as s:
        return (await s.get(FollowUpTask, tid)).status


async def test_missed_followup_reminds_then_escalates(sqlite_db, settings, ts_env, task_queue, save_history):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "manager"))
    task = await _task(db, people, ts_env, timedelta(hours=2))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(task_id=task.id, due_at=task.due_at, grace_minutes=30),
            id=task.workflow_id,
            task_queue=task_queue,
        )
        handles.append(h)
        await ts_env.sleep(3600)
        assert await _status(db, task.id) == "open"
        await ts_env.sleep(3601)
        await eventually(lambda: _is(db, task.id, "reminded"))
        await ts_env.sleep(31 * 60)
        await eventually(lambda: _is(db, task.id, "escalated"))
        async with db.sessionmaker() as s:
            rows = (
                await s.execute(
                    select(Notification.kind, Notification.to_user_id).where(
                        Notification.dedupe_key.like(f"followup-{task.id}:%")
                    )
                )
            ).all()
        assert set(rows) == {("followup.due", people["agent"].id), ("followup.missed", people["manager"].id)}
        async with db.sessionmaker.begin() as s:
            await crm.complete_task(s, actor=TEST_ACTOR, task_id=task.id)
        await h.execute_update(FollowUpWorkflow.complete, CompleteTask(user_id=people["agent"].id))
        assert await h.result() == "done"
        await save_history(h, "followup_reminded_escalated_done")


async def test_completed_before_due_ends_quietly(sqlite_db, settings, ts_env, task_queue):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "manager"))
    task = await _task(db, people, ts_env, timedelta(hours=2))
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        h = await ts_env.client.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(task_id=task.id, due_at=task.due_at, grace_minutes=30),
            id=task.workflow_id,
            task_queue=task_queue,
        )
        handles.append(h)
        await h.execute_update(FollowUpWorkflow.complete, CompleteTask())
        assert await h.result() == "done"
    assert await _status(db, task.id) == "open"  # the workflow never reminded


async def _is(db, tid, status):
    return await _status(db, tid) == status
