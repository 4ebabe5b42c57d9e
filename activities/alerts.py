"""Activities of AlertSweepWorkflow: thin adapters over backroom.alerts.sweep and the analytics
checks. Idempotent: alerts are keyed by their cause."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from backroom.alerts import sweep
from backroom.alerts.schemas import SweepResult
from backroom.analytics import checks
from backroom.audit.context import Actor
from backroom.db.session import Sessionmaker


class AlertActivities:
    def __init__(self, sessionmaker: Sessionmaker, settings=None) -> None:
        self._sessionmaker = sessionmaker
        self._scan_days = (
            settings.parcel_scan_late_days if settings is not None else sweep.PARCEL_SCAN_LATE_DAYS
        )

    def _actor(self) -> Actor:
        return Actor.workflow(activity.info().workflow_id, name="Alert sweep")

    @activity.defn(name="alerts.sweep")
    async def sweep(self, now: datetime) -> SweepResult:
        """Raise alerts for causes in the data, auto-resolve cleared ones. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await sweep.sweep(
                session, actor=self._actor(), now=now, parcel_scan_late_days=self._scan_days
            )

    @activity.defn(name="alerts.daily_checks")
    async def daily_checks(self, now: datetime) -> int:
        """Targets missed and forecast outliers. Idempotent (one alert per key)."""
        async with self._sessionmaker.begin() as session:
            n = await checks.check_targets(session, actor=self._actor(), now=now)
            return n + await checks.check_forecasts(session, actor=self._actor(), now=now)


def build(deps) -> list:
    acts = AlertActivities(deps.sessionmaker, deps.settings)
    return [acts.sweep, acts.daily_checks]
