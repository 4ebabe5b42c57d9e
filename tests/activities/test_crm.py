"""FollowUpActivities: a reminder and an escalation are sent once each."""

from datetime import timedelta

from sqlalchemy import select

from activities.crm import FollowUpActivities
from backroom.crm import service as crm
from backroom.db.base import utcnow
from backroom.notifications.models import Notification
from tests.custops_helpers import create_customer, staff
from tests.helpers import TEST_ACTOR


async def test_remind_and_escalate_twice_notify_once(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "manager"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        task = await crm.create_task(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            title="Call back",
            due_at=utcnow() - timedelta(hours=1),
            assignee_id=people["agent"].id,
        )
    acts = FollowUpActivities(deps.sessionmaker)
    assert await act_env.run(acts.remind_followup, task.id) is True
    assert await act_env.run(acts.remind_followup, task.id) is False
    await act_env.run(acts.escalate_followup, task.id)
    await act_env.run(acts.escalate_followup, task.id)
    async with db.read_sessionmaker() as s:
        sent = list(
            await s.execute(
                select(Notification.kind, Notification.to_user_id).where(
                    Notification.dedupe_key.like(f"followup-{task.id}:%")
                )
            )
        )
    assert sorted(sent) == [("followup.due", people["agent"].id), ("followup.missed", people["manager"].id)]
