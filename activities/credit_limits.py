"""Activities of CreditLimitChangeWorkflow: thin adapters over backroom.credit.limits."""

from __future__ import annotations

from temporalio import activity

from backroom.audit.context import Actor
from backroom.credit import limits
from backroom.credit.flow import LimitDecision
from backroom.db.session import Sessionmaker


class CreditLimitActivities:
    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name="credit_limits.apply")
    async def apply(self, decision: LimitDecision) -> None:
        """Apply the approved limit. Idempotent: a second attempt changes nothing."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=decision.approved_by_id)
        async with self._sessionmaker.begin() as session:
            await limits.apply_change(
                session,
                actor=actor,
                request_id=decision.request_id,
                decided_by_id=decision.approved_by_id,
                reason=decision.reason,
            )

    @activity.defn(name="credit_limits.close")
    async def close(self, decision: LimitDecision, status: str) -> None:
        """Mark the request rejected or expired. Idempotent."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=decision.approved_by_id)
        async with self._sessionmaker.begin() as session:
            await limits.close_request(
                session,
                actor=actor,
                request_id=decision.request_id,
                status=status,
                decided_by_id=decision.approved_by_id,
                reason=decision.reason,
            )


def build(deps) -> list:
    acts = CreditLimitActivities(deps.sessionmaker)
    return [acts.apply, acts.close]
