"""Activities for credit holds and the overdue sweep: thin adapters over backroom.credit.ledger."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from backroom.audit.context import Actor
from backroom.credit import ledger
from backroom.db.session import read_only


class CreditHoldActivities:
    def __init__(self, sessionmaker) -> None:
        self._sessionmaker = sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    def _actor(self) -> Actor:
        return Actor.workflow(activity.info().workflow_id)

    @activity.defn(name="credit_holds.hold_fits")
    async def hold_fits(self, hold_id: int) -> bool:
        """Whether available credit now covers the held sale. Read-only."""
        async with self._reader() as session:
            return await ledger.hold_fits(session, hold_id=hold_id)

    @activity.defn(name="credit_holds.settle_hold")
    async def settle_hold(self, hold_id: int, resolution: str) -> str:
        """Post (approved | paid) or decline (rejected | expired) the held sale. Idempotent."""
        async with self._sessionmaker.begin() as session:
            hold = await ledger.settle_hold(
                session, actor=self._actor(), hold_id=hold_id, resolution=resolution
            )
            return hold.status

    @activity.defn(name="credit_holds.sweep_overdue")
    async def sweep_overdue(self, as_of: datetime) -> dict:
        """Hold overdue accounts, release paid-up ones. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await ledger.sweep_overdue(session, actor=self._actor(), as_of=as_of)


def build(deps) -> list:
    acts = CreditHoldActivities(deps.sessionmaker)
    return [acts.hold_fits, acts.settle_hold, acts.sweep_overdue]
