"""Stand-in for the shared approval gate (workflows/approval.py, landing on main) with the same
contract, so the order workflow runs before the merge. Deleted once main is merged."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow


class ApprovalLevel(BaseModel):
    role: str
    hours: float


class ApprovalAsk(BaseModel):
    key: str
    branch_id: int
    subject_type: str
    subject_id: str
    title: str
    reason: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    function: str
    action: str
    levels: list[ApprovalLevel]


class ApprovalOutcome(BaseModel):
    status: str  # approved | rejected | expired | cancelled
    decided_by_id: int | None = None
    reason: str | None = None


class ApprovalDecision(BaseModel):
    key: str
    approve: bool
    reason: str | None = None
    user_id: int | None = None


class ApprovalGate:
    def _gate(self) -> dict:
        if not hasattr(self, "_gate_state"):
            self._gate_state = {}
        return self._gate_state

    async def request_approval(self, ask: ApprovalAsk) -> ApprovalOutcome:
        self._gate()[ask.key] = None
        hours = sum(level.hours for level in ask.levels)
        try:
            await workflow.wait_condition(lambda: self._gate()[ask.key] is not None, timeout=timedelta(hours=hours))
        except TimeoutError:
            self._gate()[ask.key] = ApprovalOutcome(status="expired")
        return self._gate()[ask.key]

    async def cancel_approval(self, reason: str) -> None:
        for key, value in self._gate().items():
            if value is None:
                self._gate()[key] = ApprovalOutcome(status="cancelled", reason=reason)

    @workflow.update
    async def decide(self, d: ApprovalDecision) -> ApprovalOutcome:
        out = ApprovalOutcome(status="approved" if d.approve else "rejected", decided_by_id=d.user_id, reason=d.reason)
        self._gate()[d.key] = out
        return out

    @decide.validator
    def _v_decide(self, d: ApprovalDecision) -> None:
        if self._gate().get(d.key, "missing") is not None:
            raise ValueError("No open approval with this key.")
