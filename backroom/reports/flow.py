"""Payloads of ReportRunWorkflow and its activities (pure Pydantic)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backroom.reports.periods import Edition


class ReportRunInput(BaseModel):
    """One run: a given period (`label`, a backfill) or, from a schedule, the periods that have
    ended by the scheduled time `at` and have no snapshot yet (so catch-up runs fill gaps)."""

    edition: Edition
    label: str | None = None
    at: datetime | None = None  # None: the schedule's time (TemporalScheduledStartTime) or now
    functions: list[str] | None = None  # None: every registered report set
    branch_ids: list[int] | None = None  # None: every branch and the all-branches report
    force: bool = False  # a new version even where one exists (backfill re-runs)
    trigger: str = "schedule"  # schedule | backfill
    requested_by_id: int | None = None


class RunPlanAsk(BaseModel):
    edition: Edition
    at: datetime
    label: str | None = None
    functions: list[str] | None = None
    branch_ids: list[int] | None = None
    force: bool = False


class SnapshotAsk(BaseModel):
    """One snapshot to make: a report set's edition for a period in a branch (None: all)."""

    function: str
    edition: Edition
    label: str
    branch_id: int | None = None
    force: bool = False
    trigger: str = "schedule"
    requested_by_id: int | None = None


class SnapshotDone(BaseModel):
    snapshot_id: int
    function: str
    label: str
    branch_id: int | None
    version: int
    created: bool  # False: this attempt found the snapshot an earlier attempt (or run) made
    notified: int = 0  # subscription e-mails queued


class ReportRunResult(BaseModel):
    edition: Edition
    at: datetime
    snapshots: list[SnapshotDone]
