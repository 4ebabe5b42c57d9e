"""Payloads, names and ids of the loyalty workflows. Pure Pydantic: the workflows import it.

Expiry runs as ONE daily batch workflow over the ledger (LoyaltyNightlyWorkflow, started by the
Temporal Schedule `loyalty-nightly`), not a timer per award: each award stores its own expiry
date, so the nightly run is an indexed range query, and the Temporal history grows with the
number of member batches, not with the number of awards (see docs/benchmarks.md for numbers)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

NIGHTLY_WORKFLOW = "LoyaltyNightlyWorkflow"
EARN_LATER_WORKFLOW = "LoyaltyEarnAfterReturnsWorkflow"
ADJUSTMENT_WORKFLOW = "LoyaltyAdjustmentWorkflow"
NIGHTLY_SCHEDULE = "loyalty-nightly"
BATCH = 500  # members per activity


def earn_later_workflow_id(order_id: int) -> str:
    return f"loyalty-earn-order-{order_id}"


def adjustment_workflow_id(adjustment_id: int) -> str:
    return f"loyalty-adjustment-{adjustment_id}"


class NightlyInput(BaseModel):
    at: datetime | None = None  # default: the schedule's nominal time, else now
    step: str = "expire"  # expire -> notices -> tiers -> enrol -> birthdays (kept over continue-as-new)
    after_id: int = 0


class BatchAsk(BaseModel):
    at: datetime
    after_id: int = 0


class BatchDone(BaseModel):
    last_id: int | None
    points: int = 0


class NightlyResult(BaseModel):
    expired_points: int
    notices: int
    tier_batches: int


class EarnLaterInput(BaseModel):
    order_id: int
    customer_id: int
    branch_id: int
    earn_at: datetime


class AdjustmentInput(BaseModel):
    adjustment_id: int
    customer_id: int
    customer_name: str
    branch_id: int
    points: int
    reason: str
    requested_by_id: int
    requested_by_name: str
    manager_hours: float = 48


class AdjustmentDecision(BaseModel):
    adjustment_id: int
    status: str  # approved | rejected | expired
    decided_by_id: int | None = None
