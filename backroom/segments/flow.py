"""Payloads, names and ids of the segment workflows. Pure Pydantic: the workflows import it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

NIGHTLY_WORKFLOW = "SegmentsNightlyWorkflow"
CAMPAIGN_WORKFLOW = "SegmentCampaignWorkflow"
NIGHTLY_SCHEDULE = "segments-nightly"


def campaign_workflow_id(campaign_id: int) -> str:
    return f"segment-campaign-{campaign_id}"


class NightlyInput(BaseModel):
    at: datetime | None = None


class BranchAsk(BaseModel):
    branch_id: int
    at: datetime


class SnapshotAsk(BaseModel):
    segment_id: int
    at: datetime


class NightlyResult(BaseModel):
    scored: int
    snapshots: int


class CampaignInput(BaseModel):
    campaign_id: int
    segment_name: str
    branch_id: int
    recipients: int
    subject: str
    requested_by_id: int
    requested_by_name: str
    manager_hours: float = 48


class CampaignDecision(BaseModel):
    campaign_id: int
    status: str  # approved | rejected | expired
    decided_by_id: int | None = None
