"""Activities of ReportRunWorkflow: thin adapters over backroom.reports.snapshots."""

from __future__ import annotations

from temporalio import activity

from backroom.db.session import Sessionmaker, read_only
from backroom.reports import snapshots
from backroom.reports.flow import RunPlanAsk, SnapshotAsk, SnapshotDone
from backroom.settings import Settings


class ReportActivities:
    def __init__(self, sessionmaker: Sessionmaker, settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction
        self._settings = settings

    @activity.defn(name="reports.plan_run")
    async def plan_run(self, ask: RunPlanAsk) -> list[SnapshotAsk]:
        """The snapshots a run must make. Read-only."""
        async with self._reader() as session:
            return await snapshots.plan_run(session, ask)

    @activity.defn(name="reports.make_snapshot")
    async def make_snapshot(self, ask: SnapshotAsk) -> SnapshotDone:
        """Store one snapshot (report, files, audit, subscribers' e-mails). Idempotent: keyed on
        the workflow id and the scope, a retry returns the snapshot the first attempt made."""
        return await snapshots.produce(
            self._sessionmaker, ask, workflow_id=activity.info().workflow_id, settings=self._settings
        )


def build(deps) -> list:
    acts = ReportActivities(deps.sessionmaker, deps.settings)
    return [acts.plan_run, acts.make_snapshot]
