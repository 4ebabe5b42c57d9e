"""Activities of the approval gate: keep the inbox projection in step with the workflow."""

from __future__ import annotations

from temporalio import activity

from backroom.approvals import service
from backroom.approvals.schemas import CloseRequest, EscalateRequest, OpenRequest
from backroom.db.session import Sessionmaker


class ApprovalActivities:
    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name="approvals.open")
    async def open(self, req: OpenRequest) -> int:
        """Create the inbox row. Idempotent (unique gate key)."""
        async with self._sessionmaker.begin() as session:
            return (await service.open_request(session, req=req)).id

    @activity.defn(name="approvals.escalate")
    async def escalate(self, req: EscalateRequest) -> None:
        """Move the request to the next level. Idempotent."""
        async with self._sessionmaker.begin() as session:
            await service.escalate(session, req=req)

    @activity.defn(name="approvals.close")
    async def close(self, req: CloseRequest) -> CloseRequest | None:
        """Record approved/rejected/expired/cancelled unless a decision closed the request first;
        returns that decision (None if this step closed it). Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await service.close(session, req=req)


def build(deps) -> list:
    acts = ApprovalActivities(deps.sessionmaker)
    return [acts.open, acts.escalate, acts.close]
