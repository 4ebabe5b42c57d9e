"""TargetApprovalWorkflow (analytics-target-{id}-r{revision}): a target above the approval
threshold waits for another manager (48 h), then an admin (24 h), else expires."""

from __future__ import annotations

from temporalio import workflow

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from activities.targets import TargetActivities
    from backroom.analytics.flow import TARGET_APPROVAL_WORKFLOW, TargetApprovalInput, TargetDecision
    from backroom.temporal import SHORT_DB_STEP


@workflow.defn(name=TARGET_APPROVAL_WORKFLOW)
class TargetApprovalWorkflow(ApprovalGate):
    """One target change from request to in force, refused or expired."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, inp: TargetApprovalInput) -> TargetDecision:
        outcome = await self.request_approval(
            ApprovalAsk(
                key="target",
                branch_id=inp.branch_id,
                subject_type="analytics_target",
                subject_id=str(inp.target_id),
                title=inp.title,
                reason=inp.reason,
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function="analytics",
                action="approve",
                levels=[
                    ApprovalLevel(role="manager", hours=inp.manager_hours),
                    ApprovalLevel(role="admin", hours=inp.admin_hours),
                ],
            )
        )
        decision = TargetDecision(
            target_id=inp.target_id,
            revision=inp.revision,
            approved=outcome.status == "approved",
            status=outcome.status,
            decided_by_id=outcome.decided_by_id,
            reason=outcome.reason,
        )
        await workflow.execute_activity_method(TargetActivities.apply_decision, decision, **SHORT_DB_STEP)
        self._status = outcome.status
        return decision

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [TargetApprovalWorkflow]
