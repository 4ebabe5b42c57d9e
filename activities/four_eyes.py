"""Activity of FourEyesWorkflow: a thin adapter over backroom.controls.apply."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Deps
from backroom.audit.context import Actor
from backroom.controls import apply
from backroom.controls.flow import FourEyesDecision


class FourEyesActivities:
    def __init__(self, deps: Deps) -> None:
        self._sessionmaker = deps.sessionmaker

    @activity.defn(name="four_eyes.settle")
    async def settle(self, decision: FourEyesDecision) -> str:
        """Apply the approved action on behalf of the approver, or close the request. Idempotent:
        only a pending request changes."""
        wf = activity.info().workflow_id
        actor = Actor.workflow(
            wf,
            on_behalf_of=decision.decided_by_id,
            name=f"{decision.decided_by_name} via {wf}" if decision.decided_by_name else None,
        )
        async with self._sessionmaker.begin() as session:
            return await apply.settle(session, actor=actor, decision=decision)


def build(deps: Deps) -> list:
    a = FourEyesActivities(deps)
    return [a.settle]
