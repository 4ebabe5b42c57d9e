"""FourEyesWorkflow (four-eyes-{id}): a destructive or ledger action requested by one person
waits for another through the approval gate (its validator refuses self-approval), then is
applied once by the activity, or closed when rejected or expired."""

from __future__ import annotations

from temporalio import workflow

from workflows.approval import ApprovalAsk, ApprovalGate

with workflow.unsafe.imports_passed_through():
    from activities.four_eyes import FourEyesActivities
    from backroom.controls.flow import FOUR_EYES_WORKFLOW, FourEyesDecision, FourEyesInput
    from backroom.temporal import SHORT_DB_STEP


@workflow.defn(name=FOUR_EYES_WORKFLOW)
class FourEyesWorkflow(ApprovalGate):
    """One four-eyes request from asking to applied, failed, rejected or expired."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, inp: FourEyesInput) -> str:
        outcome = await self.request_approval(
            ApprovalAsk(
                key=inp.kind,
                branch_id=inp.branch_id,
                subject_type=inp.subject_type,
                subject_id=inp.subject_id,
                title=inp.title,
                reason=inp.reason,
                amount_minor=inp.amount_minor,
                currency=inp.currency,
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function=inp.function,
                action="approve",
                levels=inp.levels,
            )
        )
        self._status = await workflow.execute_activity_method(
            FourEyesActivities.settle,
            FourEyesDecision(
                action_id=inp.action_id,
                status=outcome.status,
                decided_by_id=outcome.decided_by_id,
                decided_by_name=outcome.decided_by_name,
                reason=outcome.reason,
            ),
            **SHORT_DB_STEP,
        )
        return self._status

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [FourEyesWorkflow]
