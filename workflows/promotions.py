"""PromotionApprovalWorkflow: a high-risk promotion (or change) waits for a manager (48 h),
then an admin (24 h), else it expires; the decision is applied once."""

from __future__ import annotations

from temporalio import workflow

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from activities.promotions import PromotionActivities
    from backroom.promotions.flow import (
        PROMOTION_APPROVAL_WORKFLOW,
        PromotionApprovalInput,
        PromotionDecision,
    )
    from backroom.temporal import SHORT_DB_STEP


@workflow.defn(name=PROMOTION_APPROVAL_WORKFLOW)
class PromotionApprovalWorkflow(ApprovalGate):
    """One submitted revision of a promotion's terms, from asking to live or dropped."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, inp: PromotionApprovalInput) -> str:
        outcome = await self.request_approval(
            ApprovalAsk(
                key=f"promotion-r{inp.revision}",
                branch_id=inp.branch_id,
                subject_type="promotion",
                subject_id=str(inp.promotion_id),
                title=inp.title[:200],
                reason=inp.reason,
                amount_minor=inp.amount_minor,
                currency=inp.currency,
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function="coupons",
                action="approve",
                levels=[
                    ApprovalLevel(role="manager", hours=inp.manager_hours),
                    ApprovalLevel(role="admin", hours=inp.admin_hours),
                ],
            )
        )
        self._status = await workflow.execute_activity_method(
            PromotionActivities.apply_decision,
            PromotionDecision(
                promotion_id=inp.promotion_id,
                revision=inp.revision,
                status=outcome.status,
                decided_by_id=outcome.decided_by_id,
                decided_by_name=outcome.decided_by_name,
                reason=outcome.reason,
            ),
            **SHORT_DB_STEP,
        )
        return outcome.status

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [PromotionApprovalWorkflow]
