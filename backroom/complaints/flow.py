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


# workflow.patched ids: runs recorded before these changes replay their old commands.
GOODWILL_GATE_PATCH = "goodwill-over-threshold-approval"
REFUND_MOVES_MONEY_PATCH = "complaint-refund-moves-money"


class Resolution(BaseModel):
    refund_minor: int | None = None
    currency: str | None = None
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    # Goodwill above the branch's threshold: finance decides before it is credited.
    goodwill_minor: int | None = None
    goodwill_levels: list[ApprovalLevel] = []


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
    """The approval gate's outcome on a refund or goodwill credit, carried to the activity
    that records it (and, when approved, moves the money once: `key` is fixed per round)."""

    complaint_id: int
    status: str
    key: str
    decided_by_id: int | None = None
    decided_by_name: str | None = None


class RefundTarget(BaseModel):
    """Where an approved refund goes: a card payment (intent) or, without one, the account."""

    done: bool = False  # already recorded by an earlier attempt
    intent_id: str | None = None
    amount_minor: int
