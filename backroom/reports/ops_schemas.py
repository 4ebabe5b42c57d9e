"""Wire shapes of report snapshots, backfills and subscriptions (the operations side)."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backroom.inputs import WS, Input
from backroom.reports.periods import Edition

FORMATS = ("csv", "xlsx", "pdf")


FORMAT_TEXT = rf"^{WS}*([cC][sS][vV]|[xX][lL][sS][xX]|[pP][dD][fF]){WS}*$"


class SnapshotFileRead(BaseModel):
    format: str
    filename: str
    size: int
    sha256: str
    url: str


class SnapshotRead(BaseModel):
    id: int
    function: str
    edition: Edition
    period: str
    period_start_local: date
    period_end_local: date
    starts_at: datetime
    ends_at: datetime
    branch_id: int | None
    branch: str  # "All branches" or the branch's name
    version: int
    has_data: bool
    trigger: str
    workflow_id: str | None
    created_at: datetime
    body_sha256: str
    files: list[SnapshotFileRead]
    live_report: str


class SnapshotDetail(SnapshotRead):
    body: dict


class BackfillIn(Input):
    model_config = ConfigDict(extra="forbid")
    date_from: date
    date_to: date
    editions: list[Edition] | None = Field(default=None, max_length=3)
    functions: list[str] | None = Field(default=None, max_length=50)
    branch_ids: list[int] | None = Field(
        default=None, max_length=500, description="leave out for every branch"
    )


class BackfillRunRead(BaseModel):
    workflow_id: str
    edition: Edition
    period: str


class BackfillRead(BaseModel):
    # Queued in the outbox with the audit event; started after the commit (or by the
    # worker's poller while Temporal is unreachable).
    runs: list[BackfillRunRead]


class SubscriptionCreate(Input):
    model_config = ConfigDict(extra="forbid")
    function: str = Field(max_length=40)
    edition: Edition
    branch_ids: list[int] | None = Field(
        default=None, max_length=100, description="each branch's report; leave out for all branches together"
    )
    # csv, xlsx or pdf, any case (the document says so; _format holds to it)
    format: str = Field(default="pdf", json_schema_extra={"pattern": FORMAT_TEXT})
    only_if_data: bool = False

    @field_validator("format")
    @classmethod
    def _format(cls, v: str) -> str:
        m = re.fullmatch(FORMAT_TEXT, v)
        if not m:
            raise ValueError("Choose CSV, XLSX or PDF")
        return m.group(1).lower()

    @field_validator("branch_ids")
    @classmethod
    def _branches(cls, v: list[int] | None) -> list[int] | None:
        return sorted(set(v)) if v else None


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    function: str
    edition: Edition
    branch_ids: list[int] | None
    format: str
    only_if_data: bool
    status: str
