"""Activities of TargetApprovalWorkflow: thin adapters over backroom.analytics.targets."""

from __future__ import annotations

from temporalio import activity

from backroom.analytics import targets
from backroom.analytics.flow import TargetDecision
from backroom.audit.context import Actor
from backroom.db.session import Sessionmaker


class TargetActivities:
    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name="targets.apply_decision")
    async def apply_decision(self, decision: TargetDecision) -> None:
        """Put the approved value in force or drop the refused one. Idempotent."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=decision.decided_by_id)
        async with self._sessionmaker.begin() as session:
            await targets.apply_decision(session, actor=actor, decision=decision)


def build(deps) -> list:
    acts = TargetActivities(deps.sessionmaker)
    return [acts.apply_decision]
