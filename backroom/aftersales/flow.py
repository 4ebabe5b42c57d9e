"""Payloads, name, id and the state machine of RmaCaseWorkflow. Pure (no I/O): the workflow,
its validators, the service and the pages all read the same table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from backroom.aftersales.models import CaseKind, CaseState
from backroom.approvals.schemas import ApprovalLevel
from backroom.inputs import Input
from backroom.money import Minor
from backroom.shipping.carrier import Rate
from backroom.sla import WorkCalendar

RMA_WORKFLOW = "RmaCaseWorkflow"
S, K = CaseState, CaseKind
# The SLA clock stops while the case waits on the customer (their item, their answer).
WAITING_ON_CUSTOMER = (S.AWAITING_ITEM, S.QUOTE_SENT)
FINAL = (S.CLOSED, S.CANCELLED)
# Cancelling is allowed until money moves or the repair starts.
CANCELLABLE = (S.REQUESTED, S.APPROVED, S.AWAITING_ITEM, S.RECEIVED, S.DIAGNOSED, S.QUOTE_SENT)
# Days the customer has after the reminder before an unanswered quote counts as declined.
QUOTE_GRACE_DAYS = 2


def rma_workflow_id(case_id: int) -> str:
    return f"rma-{case_id}"


@dataclass(frozen=True)
class Step:
    """A person's step: who may take it (service function action), for which kinds, from which
    states, to which state. `warranty`: None any case, True only under warranty, False only not."""

    permission: str
    label: str
    kinds: tuple[CaseKind, ...]
    from_states: tuple[CaseState, ...]
    to: CaseState
    warranty: bool | None = None


ALL = tuple(CaseKind)
STEPS: dict[str, Step] = {
    "approve": Step("update", "Approve the request", ALL, (S.REQUESTED,), S.APPROVED),
    "receive": Step("post", "Receive and inspect the item", ALL, (S.AWAITING_ITEM,), S.RECEIVED),
    "diagnose": Step("submit", "Record the diagnosis", (K.REPAIR,), (S.RECEIVED,), S.DIAGNOSED),
    "quote": Step("submit", "Send the quote", (K.REPAIR,), (S.DIAGNOSED,), S.QUOTE_SENT, warranty=False),
    "quote_approve": Step(
        "update", "Customer approved the quote", (K.REPAIR,), (S.QUOTE_SENT,), S.QUOTE_APPROVED
    ),
    "quote_decline": Step(
        "update", "Customer declined the quote", (K.REPAIR,), (S.QUOTE_SENT,), S.QUOTE_DECLINED
    ),
    "repaired": Step("submit", "Repair done", (K.REPAIR,), (S.IN_REPAIR,), S.QUALITY_CHECK),
    "qc_pass": Step("submit", "Quality check passed", (K.REPAIR,), (S.QUALITY_CHECK,), S.READY),
    "qc_fail": Step("submit", "Quality check failed", (K.REPAIR,), (S.QUALITY_CHECK,), S.IN_REPAIR),
    "hand_over": Step("post", "Shipped / handed to the customer", ALL, (S.READY,), S.RETURNED),
    "cancel": Step("update", "Cancel the case", ALL, CANCELLABLE, S.CANCELLED),
}


def refusal(action: str, *, kind: str, state: str, under_warranty: bool) -> str | None:
    """Why `action` cannot be taken now, in words for the person, or None. Pure."""
    step = STEPS.get(action)
    if step is None:
        return f"{action!r} is not a step of a case."
    if kind not in step.kinds:
        return f"A {kind} case has no step {step.label.lower()!r}."
    if state not in step.from_states:
        return f"The case is {state.replace('_', ' ')}; {step.label.lower()} is not possible now."
    if step.warranty is not None and step.warranty != under_warranty:
        return "Under warranty the repair is free: no quote is sent."
    return None


def next_steps(*, kind: str, state: str, under_warranty: bool) -> list[str]:
    """The people's steps open now (buttons on the case page). Pure."""
    return [a for a in STEPS if refusal(a, kind=kind, state=state, under_warranty=under_warranty) is None]


class QuoteLineIn(Input):
    kind: str = Field(pattern="^(part|labour)$")
    description: str = Field(min_length=1, max_length=200)
    qty: int = Field(default=1, ge=1, le=1000)
    unit_minor: Minor = Field(ge=0, le=10**9)


class CaseAction(BaseModel):
    """A person's step sent to the workflow as the `act` Update (the API authorized it)."""

    action: str
    user_id: int | None = None
    user_name: str | None = None
    note: str | None = Field(default=None, max_length=2000)
    damaged: bool = False  # receive: the unit cannot go back on sale
    diagnosis: str | None = Field(default=None, max_length=4000)
    lines: list[QuoteLineIn] = []


class RmaInput(BaseModel):
    case_id: int
    branch_id: int
    kind: str
    title: str
    under_warranty: bool
    by_post: bool
    sla_minutes: int  # working minutes of the branch calendar
    calendar: WorkCalendar | None = None  # None: around the clock (cases started before calendars)
    quote_days: int
    quote_grace_days: int = QUOTE_GRACE_DAYS
    money_minor: int  # the refund, or the replacement's value
    currency: str
    approval_over_minor: int
    approval_levels: list[ApprovalLevel] = Field(
        default_factory=lambda: [ApprovalLevel(role="manager", hours=48)]
    )
    promised_days: int = 5
    start_state: str = CaseState.REQUESTED  # a case imported or seeded mid-way starts there


class CaseView(BaseModel):
    state: str
    paused: bool
    sla_left_s: float | None
    breached: bool
    # The workflow is doing its own part (a label, a mail): a person's step now is refused as
    # "being processed"; ask again when this is false.
    busy: bool = False


# Activity payloads
class Transition(BaseModel):
    """Move the case (the workflow decided it may); `key` makes a retry change nothing."""

    case_id: int
    action: str
    to_state: str
    key: str
    at: datetime
    detail: str | None = None
    step: CaseAction | None = None


class LabelAsk(BaseModel):
    case_id: int
    leg: str  # return | outbound
    key: str
    promised_days: int = 5
    rate: Rate | None = None


class LabelResult(BaseModel):
    label_id: str
    tracking_number: str
    carrier: str


class MoneyAsk(BaseModel):
    case_id: int
    key: str


class Breach(BaseModel):
    case_id: int
    key: str
    at: datetime


class QuoteMail(BaseModel):
    case_id: int
    reminder: bool
    key: str
    due_at: datetime
