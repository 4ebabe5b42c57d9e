"""The nightly Temporal Schedules of loyalty (expiry, notices, tiers) and segments (RFM,
snapshots), created or updated in place when the worker starts (keeping a pause set in the UI).

One run per night over the whole ledger, not a timer per award: see backroom/loyalty/flow.py."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from backroom.loyalty import flow as loyalty_flow
from backroom.segments import flow as segments_flow
from backroom.settings import Settings
from backroom.temporal import ensure_schedule

# (schedule name, workflow, input, hour UTC): segments after loyalty (tiers feed segments).
NIGHTLY = (
    (loyalty_flow.NIGHTLY_SCHEDULE, loyalty_flow.NIGHTLY_WORKFLOW, loyalty_flow.NightlyInput(), 1),
    (segments_flow.NIGHTLY_SCHEDULE, segments_flow.NIGHTLY_WORKFLOW, segments_flow.NightlyInput(), 2),
)


def build(settings: Settings, name: str, workflow: str, arg, hour: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,
            arg,
            id=f"{settings.workflow_prefix}{name}",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(minute=(ScheduleRange(30),), hour=(ScheduleRange(hour),))],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create both schedules, or bring them up to date (keeping a pause). Idempotent."""
    ids = []
    for name, workflow, arg, hour in NIGHTLY:
        sid = f"{settings.workflow_prefix}{name}"
        await ensure_schedule(client, sid, build(settings, name, workflow, arg, hour))
        ids.append(sid)
    return ids
