"""Activities for ComplaintWorkflow: thin adapters over backroom.complaints.service."""

from __future__ import annotations

from temporalio import activity

from backroom.audit.context import Actor
from backroom.complaints import service as complaints
from backroom.complaints.flow import Breach, RefundDecision


class ComplaintActivities:
    def __init__(self, sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    def _actor(self) -> Actor:
        return Actor.workflow(activity.info().workflow_id)

    @activity.defn(name="complaints.record_breach")
    async def record_breach(self, breach: Breach) -> bool:
        """Record an SLA breach, escalate one level and notify it. Idempotent by key."""
        async with self._sessionmaker.begin() as session:
            return await complaints.record_breach(
                session,
                actor=self._actor(),
                complaint_id=breach.complaint_id,
                clock=breach.clock,
                to_level=breach.to_level,
                key=breach.key,
                at=breach.at,
            )

    @activity.defn(name="complaints.record_refund")
    async def record_refund(self, decision: RefundDecision) -> None:
        """Record the refund approval outcome. Idempotent by key."""
        async with self._sessionmaker.begin() as session:
            await complaints.record_refund(
                session,
                actor=self._actor(),
                complaint_id=decision.complaint_id,
                status=decision.status,
                key=decision.key,
            )

    @activity.defn(name="complaints.send_satisfaction")
    async def send_satisfaction(self, complaint_id: int, round_no: int) -> None:
        """Queue the satisfaction follow-up to the customer. Idempotent per round."""
        async with self._sessionmaker.begin() as session:
            await complaints.satisfaction_followup(session, complaint_id=complaint_id, round_no=round_no)

    @activity.defn(name="complaints.close_complaint")
    async def close_complaint(self, complaint_id: int) -> None:
        """Close the complaint after the reopen window. Idempotent."""
        async with self._sessionmaker.begin() as session:
            await complaints.close(session, actor=self._actor(), complaint_id=complaint_id)


def build(deps) -> list:
    acts = ComplaintActivities(deps.sessionmaker)
    return [acts.record_breach, acts.record_refund, acts.send_satisfaction, acts.close_complaint]
