"""Messages between workflows, the approval gate's activities and the edge."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backroom.approvals.models import ApprovalStatus
from backroom.inputs import Input


class ApprovalLevel(BaseModel):
    """Who is asked at this level, and how long they have before it escalates (or expires)."""

    role: str
    hours: float = Field(gt=0)


class ApprovalAsk(BaseModel):
    """What a workflow asks approval for. `key` is unique among the workflow's gates."""

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
    action: str = "approve"
    levels: list[ApprovalLevel] = Field(min_length=1)
    # A domain step that settles the decision in the decision's own transaction (a name in
    # approvals.settlers), so the decision and its effect commit together.
    settled_by: str | None = None
    # The gate revision the asking run started at, taken from that run's own input (so it
    # replays): at 1 the gate's local steps and recorded decisions (workflows/approval.py) are
    # taken without patch markers (workflows/steps.since); 0 asks workflow.patched, as runs did.
    rev: int = 0


class Decision(BaseModel):
    """A staff decision. Recorded by approvals.service.decide and sent to the workflow as the
    `approval_decided` signal (runs from before that: the `decide` Update)."""

    request_id: int
    approve: bool
    reason: str | None = None
    user_id: int
    user_name: str
    # (As the `approval_decided` signal:) the ask's settled_by step ran in the decision's transaction.
    settled: bool = False


class ApprovalOutcome(BaseModel):
    request_id: int
    status: Literal["approved", "rejected", "expired", "cancelled"]
    level: int
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    reason: str | None = None
    # The decision came recorded, its subject settled in the decision's transaction.
    settled: bool = False


class OpenRequest(BaseModel):
    ask: ApprovalAsk
    workflow_id: str
    run_id: str
    deadline_at: datetime


class EscalateRequest(BaseModel):
    request_id: int
    workflow_id: str
    level: int
    roles: list[str]
    deadline_at: datetime


class CloseRequest(BaseModel):
    request_id: int
    workflow_id: str
    status: Literal["approved", "rejected", "expired", "cancelled"]
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    reason: str | None = None
    # (As a step's answer: a person's recorded decision whose transaction settled the subject.)
    settled: bool = False


class DecisionIn(Input):
    """The body of POST /api/v1/approvals/{id}/decision."""

    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str | None = Field(default=None, max_length=1000)


class ApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    workflow_id: str
    branch_id: int
    subject_type: str
    subject_id: str
    title: str
    reason: str | None
    amount_minor: int | None
    currency: str | None
    requested_by_id: int | None
    requested_by_name: str | None
    function: str
    action: str
    roles: str
    level: int
    status: ApprovalStatus
    deadline_at: datetime | None
    decided_by_id: int | None
    decided_by_name: str | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime
