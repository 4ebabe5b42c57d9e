"""Activities of the loyalty workflows: thin adapters over backroom.loyalty.service."""

from __future__ import annotations

from temporalio import activity

from backroom.audit.context import Actor
from backroom.db.session import Sessionmaker
from backroom.loyalty import service
from backroom.loyalty.flow import AdjustmentDecision, BatchAsk, BatchDone, EarnLaterInput
from backroom.orders.models import Order


def _actor() -> Actor:
    return Actor.workflow(activity.info().workflow_id, name="Loyalty")


class LoyaltyActivities:
    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name="loyalty.expire_batch")
    async def expire_batch(self, ask: BatchAsk) -> BatchDone:
        """Expire one batch of members' due awards. Idempotent (expiry entries are keyed)."""
        async with self._sessionmaker.begin() as session:
            last, points = await service.expire_batch(
                session, actor=_actor(), now=ask.at, after_id=ask.after_id
            )
        return BatchDone(last_id=last, points=points)

    @activity.defn(name="loyalty.send_notices")
    async def send_notices(self, ask: BatchAsk) -> int:
        """Queue the 30- and 7-day expiry notices. Idempotent (dedupe keys per member and day)."""
        async with self._sessionmaker.begin() as session:
            return await service.send_expiry_notices(session, now=ask.at)

    @activity.defn(name="loyalty.tier_batch")
    async def tier_batch(self, ask: BatchAsk) -> BatchDone:
        """Recompute one batch of members' tiers. Idempotent (a tier already right is left)."""
        async with self._sessionmaker.begin() as session:
            last = await service.recompute_all_tiers(
                session, actor=_actor(), now=ask.at, after_id=ask.after_id
            )
        return BatchDone(last_id=last)

    @activity.defn(name="loyalty.enrol_batch")
    async def enrol_batch(self, ask: BatchAsk) -> BatchDone:
        """Enrol one batch of customers by the programs' segment rule. Idempotent."""
        async with self._sessionmaker.begin() as session:
            last = await service.enrol_by_rule(session, actor=_actor(), now=ask.at, after_id=ask.after_id)
        return BatchDone(last_id=last)

    @activity.defn(name="loyalty.birthday_batch")
    async def birthday_batch(self, ask: BatchAsk) -> BatchDone:
        """Award one batch of today's birthday bonuses. Idempotent (one award per member and year)."""
        async with self._sessionmaker.begin() as session:
            last = await service.birthday_batch(session, actor=_actor(), now=ask.at, after_id=ask.after_id)
        return BatchDone(last_id=last)

    @activity.defn(name="loyalty.earn_after_returns")
    async def earn_after_returns(self, inp: EarnLaterInput) -> bool:
        """Award an order's points once its return window has passed, unless it was cancelled
        or refunded meanwhile. Idempotent (one award per order)."""
        async with self._sessionmaker.begin() as session:
            order = await session.get(Order, inp.order_id)
            if order is None or order.status in ("cancelled", "payment_failed", "refunded"):
                return False
            await service.earn_for_order(session, actor=_actor(), order=order, now=inp.earn_at)
            return True

    @activity.defn(name="loyalty.decide_adjustment")
    async def decide_adjustment(self, decision: AdjustmentDecision) -> None:
        """Apply an approved adjustment, or close it. Idempotent."""
        actor = Actor.workflow(activity.info().workflow_id, on_behalf_of=decision.decided_by_id)
        async with self._sessionmaker.begin() as session:
            await service.decide_adjustment(session, actor=actor, decision=decision)


def build(deps) -> list:
    acts = LoyaltyActivities(deps.sessionmaker)
    return [
        acts.expire_batch,
        acts.send_notices,
        acts.tier_batch,
        acts.enrol_batch,
        acts.birthday_batch,
        acts.earn_after_returns,
        acts.decide_adjustment,
    ]
