"""Names, ids and payloads of PromotionApprovalWorkflow and its activities. Pure Pydantic."""

from __future__ import annotations

from pydantic import BaseModel

PROMOTION_APPROVAL_WORKFLOW = "PromotionApprovalWorkflow"


def approval_workflow_id(promotion_id: int, revision: int, prefix: str = "") -> str:
    """`promotion-{id}-r{revision}`: one approval per submitted revision of the terms."""
    return f"{prefix}promotion-{promotion_id}-r{revision}"


class PromotionApprovalInput(BaseModel):
    promotion_id: int
    revision: int
    branch_id: int
    title: str
    reason: str
    amount_minor: int | None = None
    currency: str | None = None
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    manager_hours: float = 48
    admin_hours: float = 24


class PromotionDecision(BaseModel):
    promotion_id: int
    revision: int
    status: str  # approved | rejected | expired | cancelled
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    reason: str | None = None
