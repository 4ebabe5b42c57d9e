"""Abandoned-cart activities CartWorkflow runs: the branch's cadence and one reminder step.
Thin adapters over backroom.recovery.service."""

from __future__ import annotations

from temporalio import activity

from activities.deps import Deps
from backroom.audit.context import Actor
from backroom.db.session import read_only
from backroom.recovery import service as recovery
from backroom.recovery.flow import CadenceAsk, ReminderAsk, ReminderResult


class RecoveryActivities:
    def __init__(self, deps: Deps) -> None:
        self._sessionmaker = deps.sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction
        self._settings = deps.settings

    @activity.defn(name="recovery.cadence")
    async def cadence(self, ask: CadenceAsk) -> list[float]:
        """Hours after the last change at which the branch's carts get reminders. Read-only."""
        async with self._reader() as session:
            return await recovery.cadence(session, ask.branch_id)

    @activity.defn(name="recovery.remind")
    async def remind(self, ask: ReminderAsk) -> ReminderResult:
        """One reminder step (sent, or skipped with the reason). Idempotent per ask.key."""
        actor = Actor.workflow(activity.info().workflow_id)
        async with self._sessionmaker.begin() as session:
            return await recovery.remind(
                session,
                actor=actor,
                ask=ask,
                secret=self._settings.session_secret(),
                base_url=self._settings.base_url,
            )


def build(deps: Deps) -> list:
    a = RecoveryActivities(deps)
    return [a.cadence, a.remind]
