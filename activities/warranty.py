"""Activities for WarrantyWorkflow: thin adapters over backroom.warranty.service."""

from __future__ import annotations

from temporalio import activity

from activities.deps import workflow_actor
from backroom.audit.context import Actor
from backroom.warranty import service
from backroom.warranty.flow import Expiry, Notice, WarrantyChange, WarrantyFacts


def _actor(change: WarrantyChange | None = None) -> Actor:
    return workflow_actor(change.user_id, change.user_name) if change else workflow_actor()


class WarrantyActivities:
    def __init__(self, sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name="warranty.send_notice")
    async def send_notice(self, notice: Notice) -> bool:
        """Queue the expiry notice with the extended-warranty offer (consent respected). Idempotent by key."""
        async with self._sessionmaker.begin() as session:
            return await service.send_notice(
                session,
                actor=_actor(),
                warranty_id=notice.warranty_id,
                days=notice.days,
                key=notice.key,
                at=notice.at,
            )

    @activity.defn(name="warranty.apply_change")
    async def apply_change(self, warranty_id: int, change: WarrantyChange) -> WarrantyFacts:
        """Extend, transfer or void the registration. Idempotent by the change's key."""
        async with self._sessionmaker.begin() as session:
            return await service.apply_change(
                session, actor=_actor(change), warranty_id=warranty_id, change=change
            )

    @activity.defn(name="warranty.mark_expired")
    async def mark_expired(self, expiry: Expiry) -> bool:
        """Mark the registration expired. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await service.mark_expired(
                session, actor=_actor(), warranty_id=expiry.warranty_id, at=expiry.at
            )


def build(deps) -> list:
    acts = WarrantyActivities(deps.sessionmaker)
    return [acts.send_notice, acts.apply_change, acts.mark_expired]
