"""Names, ids and payloads of the vendor workflows. Pure Pydantic: the workflows import it.

- VendorApplicationWorkflow `vendor-application-{vendor id}`: a manager approves or rejects.
- ProductModerationWorkflow `vendor-product-change-{change id}`: a catalog moderator approves
  a vendor's new product or price/description change before it is listed.
- VendorShareHoldWorkflow `vendor-share-{share id}`: one vendor's share of a delivered order
  sleeps through the return window, then becomes payable (a durable timer per share).
- VendorPayoutRunWorkflow `vendor-payout-run` (Temporal Schedule, weekly): one payout per vendor
  with a payable balance; each payout is a VendorPayoutWorkflow `vendor-payout-{payout id}`
  (finance approves above the threshold, then the transfer or the payout-file line)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

APPLICATION_WORKFLOW = "VendorApplicationWorkflow"
MODERATION_WORKFLOW = "ProductModerationWorkflow"
SHARE_HOLD_WORKFLOW = "VendorShareHoldWorkflow"
PAYOUT_RUN_WORKFLOW = "VendorPayoutRunWorkflow"
PAYOUT_WORKFLOW = "VendorPayoutWorkflow"
PAYOUT_RUN_SCHEDULE = "vendor-payout-run"


def application_workflow_id(vendor_id: int, prefix: str = "") -> str:
    return f"{prefix}vendor-application-{vendor_id}"


def moderation_workflow_id(change_id: int, prefix: str = "") -> str:
    return f"{prefix}vendor-product-change-{change_id}"


def share_workflow_id(share_id: int, prefix: str = "") -> str:
    return f"{prefix}vendor-share-{share_id}"


def payout_workflow_id(payout_id: int, prefix: str = "") -> str:
    return f"{prefix}vendor-payout-{payout_id}"


class GateInput(BaseModel):
    """One approval through the gate: an application or a catalog change."""

    subject_id: int  # vendor id or change id
    branch_id: int
    title: str
    reason: str
    requested_by_id: int | None = None
    requested_by_name: str | None = None
    hours: float = 72


class GateDecision(BaseModel):
    subject_id: int
    status: str  # approved | rejected | expired
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    reason: str | None = None


class ShareHoldInput(BaseModel):
    share_id: int
    payable_at: datetime


class PayoutRunInput(BaseModel):
    at: datetime | None = None  # default: the schedule's nominal time, else now
    # A run started by hand names its own run (the weekly one is its ISO week): a vendor is
    # paid once per run key.
    run_key: str | None = None
    task_queue: str | None = None  # where the per-payout workflows run (default: this one's)


class PayoutRunResult(BaseModel):
    payouts: list[int] = []


class PayoutAsk(BaseModel):
    run_key: str
    vendor_id: int


class PayoutInput(BaseModel):
    payout_id: int
    vendor_id: int
    vendor_name: str
    branch_id: int
    amount_minor: int
    currency: str
    needs_approval: bool
    finance_hours: float = 72


class PayoutStep(BaseModel):
    payout_id: int
    status: str | None = None  # the gate's outcome, when there was one
    decided_by_id: int | None = None
    reason: str | None = None
