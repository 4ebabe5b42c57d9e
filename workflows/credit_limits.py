"""CreditLimitChangeWorkflow: finance approves (48 h), then the branch manager (24 h), else expiry."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from backroom.money import format_money


class LimitChangeInput(BaseModel):
    request_id: int
    customer_id: int
    customer_name: str
    branch_id: int
    current_limit_minor: int
    requested_limit_minor: int
    currency: str
    reason: str
    requested_by_id: int
    requested_by_name: str
    finance_hours: float = 48
    manager_hours: float = 24


class LimitDecision(BaseModel):
    request_id: int
    approved_by_id: int | None = None
    reason: str | None = None


class LimitChangeResult(BaseModel):
    request_id: int
    status: str  # applied | rejected | expired


@workflow.defn
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
        timeout = {"start_to_close_timeout": timedelta(seconds=30)}
        if outcome.status == "approved":
            await workflow.execute_activity("credit_limits.apply", decision, **timeout)
            self._status = "applied"
        else:
            self._status = "rejected" if outcome.status == "rejected" else "expired"
            await workflow.execute_activity("credit_limits.close", args=[decision, self._status], **timeout)
        return LimitChangeResult(request_id=inp.request_id, status=self._status)

    @workflow.query
    def status(self) -> str:
        return self._status


WORKFLOWS = [CreditLimitChangeWorkflow]
