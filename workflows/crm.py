"""FollowUpWorkflow (followup-{id}): remind at the due time, escalate when missed, end on completion."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.crm import FollowUpActivities
    from backroom.crm.flow import FOLLOWUP_WORKFLOW, CompleteTask, FollowUpInput
    from backroom.temporal import SHORT_DB_STEP


@workflow.defn(name=FOLLOWUP_WORKFLOW)
class FollowUpWorkflow:
    def __init__(self) -> None:
        self._done = False
        self.state = "open"

    @workflow.run
    async def run(self, inp: FollowUpInput) -> str:
        """Wait for completion; at the due time remind, after the grace time escalate."""
        until_due = max(timedelta(0), inp.due_at - workflow.now())
        if not await self._wait(until_due):
            await workflow.execute_activity_method(
                FollowUpActivities.remind_followup, inp.task_id, **SHORT_DB_STEP
            )
            self.state = "reminded"
            if not await self._wait(timedelta(minutes=inp.grace_minutes)):
                await workflow.execute_activity_method(
                    FollowUpActivities.escalate_followup, inp.task_id, **SHORT_DB_STEP
                )
                self.state = "escalated"
                await workflow.wait_condition(lambda: self._done)
        self.state = "done"
        return self.state

    async def _wait(self, delay: timedelta) -> bool:
        if delay <= timedelta(0):
            return self._done
        try:
            await workflow.wait_condition(lambda: self._done, timeout=delay)
        except TimeoutError:
            return False
        return True

    @workflow.update
    async def complete(self, req: CompleteTask) -> str:
        """The task was done (the API already recorded it); ends the workflow."""
        self._done = True
        return "done"

    @complete.validator
    def _check_complete(self, req: CompleteTask) -> None:
        if self._done:
            raise ValueError("The task is already complete.")

    @workflow.query
    def status(self) -> str:
        return self.state


WORKFLOWS = [FollowUpWorkflow]
