from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class InteractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["call", "email", "visit", "note"]
    direction: Literal["inbound", "outbound", "internal"] = "outbound"
    subject: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)
    outcome: str | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime | None = None


class InteractionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    channel: str
    direction: str
    subject: str | None
    body: str | None
    outcome: str | None
    staff_id: int | None
    occurred_at: datetime


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime
    assignee_id: int | None = Field(default=None, gt=0)
    notes: str | None = Field(default=None, max_length=5000)
    interaction_id: int | None = Field(default=None, gt=0)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    title: str
    notes: str | None
    due_at: datetime
    assignee_id: int
    status: str
    reminded_at: datetime | None
    escalated_at: datetime | None
    completed_at: datetime | None
    workflow_id: str | None
