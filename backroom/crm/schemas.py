from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backroom.crm.models import Direction, InteractionChannel, TaskStatus
from backroom.ids import RecordId
from backroom.inputs import Input


class InteractionCreate(Input):
    model_config = ConfigDict(extra="forbid")
    channel: InteractionChannel
    direction: Direction = Direction.outbound
    subject: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)
    outcome: str | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime | None = None


class InteractionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    channel: InteractionChannel
    direction: Direction
    subject: str | None
    body: str | None
    outcome: str | None
    staff_id: int | None
    occurred_at: datetime


class TaskCreate(Input):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime
    assignee_id: RecordId | None = None
    notes: str | None = Field(default=None, max_length=5000)
    interaction_id: RecordId | None = None


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    title: str
    notes: str | None
    due_at: datetime
    assignee_id: int
    status: TaskStatus
    reminded_at: datetime | None
    escalated_at: datetime | None
    completed_at: datetime | None
    workflow_id: str | None
