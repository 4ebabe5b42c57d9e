"""Activities for ComplaintWorkflow: thin adapters over backroom.complaints.service."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps
from backroom.audit.context import Actor
from backroom.complaints import service as complaints
from backroom.complaints.flow import Breach, RefundDecision
from backroom.db.session import read_only


class ComplaintActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._sessionmaker = deps.sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    def _actor(self, decision: RefundDecision | None = None) -> Actor:
        """The workflow; on behalf of the approver when carrying a decision."""
        wf = activity.info().workflow_id
        if decision and decision.decided_by_id:
            return Actor.workflow(
                wf, on_behalf_of=decision.decided_by_id, name=f"{decision.decided_by_name} via {wf}"
            )
        return Actor.workflow(wf)

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

    @activity.defn(name="complaints.settle_goodwill")
    async def settle_goodwill(self, decision: RefundDecision) -> None:
        """Credit approved goodwill, or record the refusal. Idempotent by key."""
        async with self._sessionmaker.begin() as session:
            await complaints.settle_goodwill(session, actor=self._actor(decision), decision=decision)

    @activity.defn(name="complaints.settle_refund")
    async def settle_refund(self, decision: RefundDecision) -> None:
        """Pay an approved refund back to the order's card (or credit the account without an
        online payment), or record the refusal. Once: the gateway key is the decision's key,
        fixed per round, and a refund already recorded is not asked for again."""
        async with self._reader() as session:
            target = await complaints.refund_target(
                session, complaint_id=decision.complaint_id, key=decision.key
            )
        if target.done:
            return
        if decision.status != "approved" or target.intent_id is None:
            async with self._sessionmaker.begin() as session:
                await complaints.settle_refund(session, actor=self._actor(decision), decision=decision)
            return
        gateway = self._deps.extra.get("payments")
        if gateway is None:  # a deployment fault: retried until a worker with a gateway runs it
            raise ApplicationError("No payment gateway is configured.", type="GatewayMisconfigured")
        result = await gateway.refund(target.intent_id, target.amount_minor, decision.key)
        async with self._sessionmaker.begin() as session:
            await complaints.record_card_refund(
                session,
                actor=self._actor(decision),
                decision=decision,
                result=result,
                prefix=self._deps.settings.workflow_prefix,
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


def build(deps: Deps) -> list:
    acts = ComplaintActivities(deps)
    return [
        acts.record_breach,
        acts.record_refund,
        acts.settle_goodwill,
        acts.settle_refund,
        acts.send_satisfaction,
        acts.close_complaint,
    ]
