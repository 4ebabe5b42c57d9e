"""Payloads of TargetApprovalWorkflow and its activities."""

from __future__ import annotations

from pydantic import BaseModel

TARGET_APPROVAL_WORKFLOW = "TargetApprovalWorkflow"


class TargetApprovalInput(BaseModel):
    target_id: int
    revision: int
    branch_id: int
    title: str
    reason: str | None = None
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    manager_hours: float = 48
    admin_hours: float = 24


class TargetDecision(BaseModel):
    target_id: int
    revision: int
    approved: bool
    status: str  # approved | rejected | expired | cancelled
    decided_by_id: int | None = None
    reason: str | None = None
