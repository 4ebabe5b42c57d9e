from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backroom.complaints.models import (
    Channel,
    Compensation,
    CompensationStatus,
    ComplaintStatus,
    Level,
    Severity,
)
from backroom.complaints.sla import SlaStatus
from backroom.ids import RecordId
from backroom.inputs import Input
from backroom.money import Minor


class ComplaintCreate(Input):
    model_config = ConfigDict(extra="forbid")
    customer_id: RecordId
    channel: Channel
    category: str = Field(min_length=2, max_length=40)
    severity: Severity
    description: str = Field(min_length=3, max_length=10_000)
    order_id: RecordId | None = None
    sku: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class QueueFilter(BaseModel):
    """The complaint queue's filters: the user's own, a level, a status (open = open or
    waiting on the customer; all = every status, resolved ones included), one customer."""

    model_config = ConfigDict(extra="ignore")
    mine: bool = False
    level: Level | None = None
    status: ComplaintStatus | Literal["open", "all"] = "open"
    customer: RecordId | None = None

    def statuses(self) -> tuple[ComplaintStatus, ...] | None:
        if self.status == "all":
            return None
        if self.status == "open":
            return (ComplaintStatus.open, ComplaintStatus.awaiting_customer)
        return (ComplaintStatus(self.status),)


class Note(Input):
    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(default=None, max_length=5000)


class Reply(Input):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=5000)


class Resolve(Input):
    # _amount's rule in the document: goodwill and refund carry their amount.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "compensation": {"enum": ["goodwill", "refund"]},
                        "amount_minor": {"type": "integer"},
                    },
                    "required": ["compensation", "amount_minor"],
                },
                {"properties": {"compensation": {"not": {"enum": ["goodwill", "refund"]}}}},
            ]
        },
    )
    outcome: str = Field(min_length=3, max_length=5000)
    compensation: Compensation = Compensation.none
    amount_minor: Minor | None = Field(default=None, gt=0, le=10_000_000)

    @model_validator(mode="after")
    def _amount(self):
        if self.compensation in (Compensation.goodwill, Compensation.refund) and not self.amount_minor:
            raise ValueError("give the amount of the goodwill credit or refund")
        return self


class Reopen(Input):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    branch_id: int
    channel: Channel
    category: str
    severity: Severity
    order_id: int | None
    sku: str | None
    description: str
    status: ComplaintStatus
    level: Level
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    compensation: Compensation | None
    compensation_minor: int | None
    currency: str | None = None
    compensation_status: CompensationStatus | None = None
    settled_minor: int | None = None
    reopened_count: int
    workflow_id: str | None
    created_at: datetime


class SlaRead(BaseModel):
    status: SlaStatus
    used: float  # share of the tightest running clock already used (0..1+)
    due_at: datetime | None
    paused: bool


class ComplaintWithSla(ComplaintRead):
    sla: SlaRead


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    at: datetime
    detail: str | None
    level: Level | None
    actor: str | None = Field(validation_alias="actor_name")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    size: int
    content_type: str


class ComplaintDetail(ComplaintWithSla):
    events: list[EventRead]
    attachments: list[AttachmentRead]
