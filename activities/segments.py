"""Activities of the segment workflows: thin adapters over backroom.segments.service."""

from __future__ import annotations

from sqlalchemy import select
from temporalio import activity

from backroom.audit.context import Actor
from backroom.db.session import Sessionmaker, read_only
from backroom.segments import rfm, service
from backroom.segments.flow import BranchAsk, CampaignDecision, SnapshotAsk
from backroom.segments.models import Segment


class SegmentActivities:
    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    @activity.defn(name="segments.plan")
    async def plan(self) -> tuple[list[int], list[int]]:
        """(branch ids to score, segment ids to snapshot). Read-only."""
        async with self._reader() as session:
            branches = await rfm.branch_ids(session)
            segs = list((await session.scalars(select(Segment.id).order_by(Segment.id))).all())
            return branches, segs

    @activity.defn(name="segments.score_branch")
    async def score_branch(self, ask: BranchAsk) -> int:
        """Replace one branch's RFM scores (one set-based statement). Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await service.score_branch(session, branch_id=ask.branch_id, now=ask.at)

    @activity.defn(name="segments.snapshot")
    async def snapshot(self, ask: SnapshotAsk) -> int:
        """Store one segment's members for the day. Idempotent (the day is replaced)."""
        async with self._sessionmaker.begin() as session:
            return await service.snapshot(session, segment_id=ask.segment_id, now=ask.at)

    @activity.defn(name="segments.decide_campaign")
    async def decide_campaign(self, decision: CampaignDecision) -> None:
        """Send an approved campaign, or close it. Idempotent (one message per member)."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=decision.decided_by_id)
        async with self._sessionmaker.begin() as session:
            await service.decide_campaign(session, actor=actor, decision=decision)


def build(deps) -> list:
    acts = SegmentActivities(deps.sessionmaker)
    return [acts.plan, acts.score_branch, acts.snapshot, acts.decide_campaign]
