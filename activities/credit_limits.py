"""Activities of CreditLimitChangeWorkflow: thin adapters over backroom.credit.limits."""

from __future__ import annotations

from temporalio import activity

from backroom.approvals import service as approvals
from backroom.approvals.schemas import CloseRequest
from backroom.audit.context import Actor
from backroom.credit import limits
from backroom.credit.flow import LimitDecision, SettleRefusal, limit_status
from backroom.db.session import Sessionmaker
from backroom.errors import AppError


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

    @activity.defn(name="credit_limits.settle")
    async def settle(self, close: CloseRequest, request_id: int) -> SettleRefusal | None:
        """Record the gate's decision in the inbox and apply it to the request (or close the
        request), in one transaction: one write turn per decision instead of two (issue 17).
        Idempotent: each part changes only what is still pending. A domain refusal of the
        request (closed meanwhile) rolls both back, records the decision alone and is returned."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=close.decided_by_id)
        try:
            async with self._sessionmaker.begin() as session:
                await approvals.close(session, req=close)
                await limits.conclude(
                    session,
                    actor=actor,
                    request_id=request_id,
                    status=limit_status(close.status),
                    decided_by_id=close.decided_by_id,
                    reason=close.reason,
                )
        except AppError as refused:
            if refused.retryable:
                raise
            async with self._sessionmaker.begin() as session:
                await approvals.close(session, req=close)
            return SettleRefusal(code=refused.code, detail=refused.detail)
        return None


def build(deps) -> list:
    acts = CreditLimitActivities(deps.sessionmaker)
    return [acts.apply, acts.close, acts.settle]
