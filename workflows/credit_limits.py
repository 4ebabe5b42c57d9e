"""CreditLimitChangeWorkflow: finance approves (48 h), then the branch manager (24 h), else expiry."""

from __future__ import annotations

from temporalio import workflow

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel
from workflows.steps import db_step

with workflow.unsafe.imports_passed_through():
    from activities.credit_limits import CreditLimitActivities
    from backroom.credit.flow import (
        LIMIT_CHANGE_WORKFLOW,
        LimitChangeInput,
        LimitChangeResult,
        LimitDecision,
    )
    from backroom.money import format_money


# Runs from here on apply (or close) the request in the workflow task of the decision: a local
# activity, not a round of Temporal's persistence more per decision. Older runs replay as before.
LOCAL_STEPS_PATCH = "credit-limit-local-steps"


@workflow.defn(name=LIMIT_CHANGE_WORKFLOW)
class CreditLimitChangeWorkflow(ApprovalGate):
    """One limit-change request from submission to applied, rejected or expired."""

    def __init__(self) -> None:
        self._status = "pending"

    @workflow.run
    async def run(self, inp: LimitChangeInput) -> LimitChangeResult:
        outcome = await self.request_approval(
            ApprovalAsk(
                key="limit",
                branch_id=inp.branch_id,
                subject_type="customer",
                subject_id=str(inp.customer_id),
                title=f"Credit limit for {inp.customer_name}: {format_money(inp.current_limit_minor, inp.currency)}"
                f" → {format_money(inp.requested_limit_minor, inp.currency)}",
                reason=inp.reason,
                amount_minor=inp.requested_limit_minor,
                currency=inp.currency,
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function="credit",
                action="approve",
                levels=[
                    ApprovalLevel(role="finance", hours=inp.finance_hours),
                    ApprovalLevel(role="manager", hours=inp.manager_hours),
                ],
            )
        )
        decision = LimitDecision(
            request_id=inp.request_id, approved_by_id=outcome.decided_by_id, reason=outcome.reason
        )
        if outcome.status == "approved":
            await db_step(LOCAL_STEPS_PATCH, CreditLimitActivities.apply, decision)
            self._status = "applied"
        else:
            self._status = "rejected" if outcome.status == "rejected" else "expired"
            await db_step(LOCAL_STEPS_PATCH, CreditLimitActivities.close, decision, self._status)
        return LimitChangeResult(request_id=inp.request_id, status=self._status)

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [CreditLimitChangeWorkflow]
