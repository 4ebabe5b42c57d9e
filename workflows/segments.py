"""Segment workflows: the nightly run (RFM scores per branch, then each segment's daily
snapshot) and one-off campaigns above the approval limit."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

with workflow.unsafe.imports_passed_through():
    from activities.segments import SegmentActivities
    from backroom.segments.flow import (
        CAMPAIGN_WORKFLOW,
        NIGHTLY_WORKFLOW,
        BranchAsk,
        CampaignDecision,
        CampaignInput,
        NightlyInput,
        NightlyResult,
        SnapshotAsk,
    )
    from backroom.temporal import LONG_DB_STEP, SHORT_DB_STEP

SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name=NIGHTLY_WORKFLOW)
class SegmentsNightlyWorkflow:
    """Scores first (segments may use them), then snapshots. One activity per branch and per
    segment: a failure retries that piece only."""

    @workflow.run
    async def run(self, inp: NightlyInput) -> NightlyResult:
        at = inp.at or workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        branches, segs = await workflow.execute_activity_method(SegmentActivities.plan, **SHORT_DB_STEP)
        scored = snaps = 0
        for b in branches:
            scored += await workflow.execute_activity_method(
                SegmentActivities.score_branch, BranchAsk(branch_id=b, at=at), **LONG_DB_STEP
            )
        for s in segs:
            await workflow.execute_activity_method(
                SegmentActivities.snapshot, SnapshotAsk(segment_id=s, at=at), **LONG_DB_STEP
            )
            snaps += 1
        return NightlyResult(scored=scored, snapshots=snaps)


@workflow.defn(name=CAMPAIGN_WORKFLOW)
class SegmentCampaignWorkflow(ApprovalGate):
    """A campaign to more recipients than the limit: a manager approves (48 h) or it lapses."""

    @workflow.run
    async def run(self, inp: CampaignInput) -> str:
        outcome = await self.request_approval(
            ApprovalAsk(
                key="campaign",
                branch_id=inp.branch_id,
                subject_type="segment_campaign",
                subject_id=str(inp.campaign_id),
                title=f"E-mail '{inp.subject}' to {inp.recipients} customers of {inp.segment_name}",
                requested_by_id=inp.requested_by_id,
                requested_by_name=inp.requested_by_name,
                function="segmentation",
                action="approve",
                levels=[ApprovalLevel(role="manager", hours=inp.manager_hours)],
            )
        )
        await workflow.execute_activity_method(
            SegmentActivities.decide_campaign,
            CampaignDecision(
                campaign_id=inp.campaign_id, status=outcome.status, decided_by_id=outcome.decided_by_id
            ),
            **LONG_DB_STEP,
        )
        return outcome.status


WORKFLOWS = [SegmentsNightlyWorkflow, SegmentCampaignWorkflow]
