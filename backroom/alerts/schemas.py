"""Alert payloads for the API and pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backroom.inputs import Input


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    kind: str
    kind_label: str = ""
    module: str
    severity: str
    status: str
    branch_id: int
    branch: str = ""
    title: str
    detail: str | None
    link: str | None
    raised_at: datetime
    last_seen_at: datetime
    raised_by: str
    occurrences: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None = None
    assignee_id: int | None
    assignee: str | None = None
    resolved_at: datetime | None
    resolved_by: str | None = None
    resolution: str | None
    resolution_note: str | None


class AlertPage(BaseModel):
    items: list[AlertRead]
    next_cursor: str | None


class AlertCounts(BaseModel):
    open: int
    acknowledged: int
    critical: int


class AssignIn(Input):
    model_config = ConfigDict(extra="forbid")
    assignee_id: int = Field(ge=1, le=2**63 - 1)


class ResolveIn(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str | None = Field(default=None, max_length=500)


class SweepResult(BaseModel):
    raised: int = 0
    seen: int = 0
    auto_resolved: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
