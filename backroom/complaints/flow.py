"""Payloads, name and id of ComplaintWorkflow and of its activities. Pure Pydantic."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backroom.approvals.schemas import ApprovalLevel
from backroom.sla import WorkCalendar

COMPLAINT_WORKFLOW = "ComplaintWorkflow"
# Signals to ComplaintWorkflow, sent by the use case that changed the record.
RESPONDED = "responded"  # the first reply: the first-response clock stops
AWAITING_CUSTOMER = "awaiting_customer"  # the clocks pause
CUSTOMER_REPLIED = "customer_replied"  # the clocks run again
RESOLVED = "resolved"  # with a Resolution (a refund asks for approval)
REOPEN = "reopen"


def complaint_workflow_id(complaint_id: int) -> str:
    return f"complaint-{complaint_id}"


class ComplaintInput(BaseModel):
    complaint_id: int
    branch_id: int
    title: str
    first_response_minutes: int
    resolution_minutes: int
    reopen_window_minutes: int
    refund_levels: list[ApprovalLevel] = []
    # The branch's working calendar the SLA clocks count (None: around the clock, as complaints
    # logged before calendars existed ran).
    calendar: WorkCalendar | None = None


class Resolution(BaseModel):
    refund_minor: int | None = None
    currency: str | None = None
    requested_by_id: int | None = None
    requested_by_name: str | None = None


class ComplaintState(BaseModel):
    status: str
    level: str
    paused: bool
    first_response_left_s: float | None
    resolution_left_s: float | None
    breaches: int


# Activity payloads
class Breach(BaseModel):
    complaint_id: int
    clock: str  # first_response | resolution
    to_level: str
    key: str
    at: datetime


class RefundDecision(BaseModel):
    complaint_id: int
    status: str
    key: str
