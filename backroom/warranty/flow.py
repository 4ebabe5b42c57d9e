"""Payloads, name and id of WarrantyWorkflow and of its activities. Pure Pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

WARRANTY_WORKFLOW = "WarrantyWorkflow"
# Days before expiry at which the customer is told (and offered the extended warranty).
NOTICE_DAYS = (30, 7)
EXPIRING_DAYS = 30


def warranty_workflow_id(warranty_id: int, prefix: str = "") -> str:
    return f"{prefix}warranty-{warranty_id}"


class WarrantyInput(BaseModel):
    warranty_id: int
    expires_at: datetime
    notice_days: list[int] = Field(default_factory=lambda: list(NOTICE_DAYS))


class WarrantyChange(BaseModel):
    """An extension, a transfer to a new owner, or voiding. `key` makes it apply once."""

    key: str
    kind: Literal["extend", "transfer", "void"]
    months: int | None = None
    customer_id: int | None = None
    reason: str | None = None
    user_id: int | None = None
    user_name: str | None = None


class WarrantyFacts(BaseModel):
    """The registration after a change, as the workflow needs it."""

    warranty_id: int
    status: str
    expires_at: datetime


class WarrantyState(BaseModel):
    status: str
    expires_at: datetime
    notices_sent: list[str]


class Notice(BaseModel):
    warranty_id: int
    days: int
    expires_at: datetime
    key: str
    at: datetime


class Expiry(BaseModel):
    warranty_id: int
    at: datetime
