"""Activities for follow-up tasks: thin adapters over backroom.crm.service."""

from __future__ import annotations

from temporalio import activity

from backroom.audit.context import Actor
from backroom.crm import service as crm


class FollowUpActivities:
    def __init__(self, sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    def _actor(self) -> Actor:
        return Actor.workflow(activity.info().workflow_id)

    @activity.defn(name="crm.remind_followup")
    async def remind_followup(self, task_id: int) -> bool:
        """Remind the assignee that the task is due. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await crm.remind(session, actor=self._actor(), task_id=task_id)

    @activity.defn(name="crm.escalate_followup")
    async def escalate_followup(self, task_id: int) -> bool:
        """Tell the branch managers the task was missed. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await crm.escalate(session, actor=self._actor(), task_id=task_id)


def build(deps) -> list:
    acts = FollowUpActivities(deps.sessionmaker)
    return [acts.remind_followup, acts.escalate_followup]
