"""Activities of PromotionApprovalWorkflow: thin adapters over backroom.promotions.service."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Deps
from backroom.audit.context import Actor
from backroom.promotions import service as promotions
from backroom.promotions.flow import PromotionDecision


class PromotionActivities:
    def __init__(self, deps: Deps) -> None:
        self._sessionmaker = deps.sessionmaker

    @activity.defn(name="promotions.apply_decision")
    async def apply_decision(self, decision: PromotionDecision) -> str:
        """Put approved terms live, or drop the proposal. Idempotent per revision."""
        actor = Actor.workflow(
            activity.info().workflow_id, on_behalf_of=decision.decided_by_id, name=decision.decided_by_name
        )
        async with self._sessionmaker.begin() as session:
            promo = await promotions.apply_decision(session, actor=actor, decision=decision)
            return promo.status


def build(deps: Deps) -> list:
    a = PromotionActivities(deps)
    return [a.apply_decision]
