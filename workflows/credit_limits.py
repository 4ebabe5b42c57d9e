"""CreditLimitChangeWorkflow: finance approves (48 h), then the branch manager (24 h), else expiry."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel
from workflows.steps import db_step

with workflow.unsafe.imports_passed_through():
    from activities.credit_limits import CreditLimitActivities
    from backroom.approvals.schemas import CloseRequest
    from backroom.credit.flow import (
        LIMIT_CHANGE_WORKFLOW,
        SETTLED_BY,
        LimitChangeInput,
        LimitChangeResult,
        LimitDecision,
        SettleRefusal,
        limit_status,
    )
    from backroom.money import format_money
    from backroom.temporal import SHORT_DB_STEP


# Runs from here on apply (or close) the request in the workflow task of the decision: a local
# activity, not a round of Temporal's persistence more per decision. Older runs replay as before.
LOCAL_STEPS_PATCH = "credit-limit-local-steps"


@workflow.defn(name=LIMIT_CHANGE_WORKFLOW)
class CreditLimitChangeWorkflow(ApprovalGate):
    """One limit-change request from submission to applied, rejected or expired."""

    def __init__(self) -> None:
        self._status = "pending"
        self._settled = False  # the gate ran `_settle` (runs from the gate's SETTLE_PATCH on)
        self._refusal: SettleRefusal | None = None

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
                settled_by=SETTLED_BY,
                rev=inp.rev,  # the gate's revision is this run's (LIMIT_REV)
            ),
            settle=lambda close: self._settle(close, inp.request_id),
        )
        # Settled by the gate's step, or (outcome.settled) with the decision itself.
        if self._settled or outcome.settled:
            self._status = limit_status(outcome.status)
            if self._refusal is not None:
                raise ApplicationError(self._refusal.detail, type=self._refusal.code, non_retryable=True)
            return LimitChangeResult(request_id=inp.request_id, status=self._status)
        # Runs from before the gate's SETTLE_PATCH: the decision is applied in a step of its own.
        decision = LimitDecision(
            request_id=inp.request_id, approved_by_id=outcome.decided_by_id, reason=outcome.reason
        )
        self._status = limit_status(outcome.status)
        if self._status == "applied":
            await db_step(workflow.patched(LOCAL_STEPS_PATCH), CreditLimitActivities.apply, decision)
        else:
            await db_step(
                workflow.patched(LOCAL_STEPS_PATCH), CreditLimitActivities.close, decision, self._status
            )
        return LimitChangeResult(request_id=inp.request_id, status=self._status)

    async def _settle(self, close: CloseRequest, request_id: int) -> None:
        """The gate's close step and the request's apply (or close) in one local activity."""
        self._refusal = await workflow.execute_local_activity_method(
            CreditLimitActivities.settle, args=[close, request_id], **SHORT_DB_STEP
        )
        self._settled = True

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [CreditLimitChangeWorkflow]
