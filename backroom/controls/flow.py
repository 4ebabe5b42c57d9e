"""Payloads, name and id of FourEyesWorkflow and of its activity. Pure Pydantic."""

from __future__ import annotations

from pydantic import BaseModel

from backroom.approvals.schemas import ApprovalLevel

FOUR_EYES_WORKFLOW = "FourEyesWorkflow"


def four_eyes_workflow_id(action_id: int) -> str:
    return f"four-eyes-{action_id}"


class FourEyesInput(BaseModel):
    action_id: int
    branch_id: int
    kind: str
    subject_type: str
    subject_id: str
    title: str
    reason: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    requested_by_id: int
    requested_by_name: str
    # The permission an approver holds in the branch, and who is asked at each level.
    function: str
    levels: list[ApprovalLevel]


class FourEyesDecision(BaseModel):
    action_id: int
    status: str  # approved | rejected | expired | cancelled
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    reason: str | None = None
