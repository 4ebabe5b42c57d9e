"""Payloads, names and ids of the credit workflows (CreditLimitChangeWorkflow, CreditHoldWorkflow,
CreditOverdueSweepWorkflow) and of their activities. Pure Pydantic: the workflows import it."""

from __future__ import annotations

from pydantic import BaseModel

LIMIT_CHANGE_WORKFLOW = "CreditLimitChangeWorkflow"
# The limit-change workflow's revision (LimitChangeInput.rev), which is its approval gate's
# (ApprovalAsk.rev): 1 takes the gate's changes without patch markers (workflows/steps.since).
LIMIT_REV = 1
HOLD_WORKFLOW = "CreditHoldWorkflow"
OVERDUE_SWEEP_WORKFLOW = "CreditOverdueSweepWorkflow"
# Signal to CreditHoldWorkflow: a payment was posted, the hold may fit now.
HOLD_PAYMENT_POSTED = "payment_posted"
# The approvals settler that applies a limit change in its decision's transaction.
SETTLED_BY = "credit.limit_change"
# One sweep for the whole database: a fixed id, so starting it twice starts it once.
OVERDUE_SWEEP_ID = "credit-overdue-sweep"


def limit_change_workflow_id(request_id: int) -> str:
    return f"credit-limit-{request_id}"


def hold_workflow_id(hold_id: int) -> str:
    return f"credit-hold-{hold_id}"


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
    rev: int = 0  # the workflow revision the run started at (LIMIT_REV); 0: queued before revisions


class LimitDecision(BaseModel):
    request_id: int
    approved_by_id: int | None = None
    reason: str | None = None


def limit_status(outcome: str) -> str:
    """The request's final status after the gate's outcome (approved, rejected, expired, cancelled)."""
    return "applied" if outcome == "approved" else "rejected" if outcome == "rejected" else "expired"


class SettleRefusal(BaseModel):
    """A domain refusal `credit_limits.settle` met applying the decision (the request was closed
    meanwhile). Returned, not raised: the inbox row still records the decision and the decision's
    Update is answered, then the workflow fails with it, as when these were separate steps."""

    code: str
    detail: str


class LimitChangeResult(BaseModel):
    request_id: int
    status: str  # applied | rejected | expired


class CreditHoldInput(BaseModel):
    hold_id: int
    branch_id: int
    customer_id: int
    title: str
    reason: str
    amount_minor: int
    currency: str
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    finance_hours: float = 24
    manager_hours: float = 24


class SweepInput(BaseModel):
    interval_hours: float = 24
    rounds_left: int = 200
