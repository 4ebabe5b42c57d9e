"""The Temporal Schedules that produce report snapshots: report-daily, report-weekly and
report-monthly, created (or updated in place) when the worker starts.

Why hourly ticks in UTC rather than one schedule per branch time zone: each tick's run makes,
per branch, the latest period that has ended in that branch's own zone and has no snapshot yet
(and the all-branches report once the period has ended in every zone). So a branch opened in a
new zone, a zone change, DST days of 23 or 25 hours and half-hour zones need no schedule of their
own and no reconciliation at worker start; each branch-day is made in the hour after its local
midnight. The weekly schedule ticks only on Sundays and Mondays (UTC) and the monthly one on the
28th-31st and the 1st: between them they cover the moment Monday (or the 1st) begins in every
zone from UTC-12 to UTC+14. A tick that finds nothing to do costs one indexed query.

Catch-up: if the Temporal service was down, the missed ticks within `catchup_window` run when it
is back, one after another (overlap BUFFER_ALL; SKIP would drop them while one runs), each with
its own scheduled time, so each makes the period that ended before it. If only the worker was
down, the ticks were started on time and wait on the task queue until it returns."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from backroom.reports.flow import REPORT_RUN_WORKFLOW, ReportRunInput
from backroom.reports.periods import Edition
from backroom.settings import Settings

log = logging.getLogger("backroom.reports")
MINUTE = 10  # minutes after the hour: lets writes that straddled midnight commit first
EVERY_HOUR = (ScheduleRange(0, 23),)
DAYS = {
    Edition.DAILY: {"day_of_week": (ScheduleRange(0, 6),)},
    Edition.WEEKLY: {"day_of_week": (ScheduleRange(0, 1),)},  # Sunday and Monday, UTC
    Edition.MONTHLY: {"day_of_month": (ScheduleRange(28, 31), ScheduleRange(1))},
}
CATCHUP = {
    Edition.DAILY: timedelta(days=7),
    Edition.WEEKLY: timedelta(days=14),
    Edition.MONTHLY: timedelta(days=62),
}
NOTES = {
    Edition.DAILY: "Daily report snapshots: every hour, the branch-days that just ended.",
    Edition.WEEKLY: "Weekly report snapshots: ISO weeks (Monday start) as they end in each branch.",
    Edition.MONTHLY: "Monthly report snapshots: calendar months as they end in each branch.",
}


def schedule_id(settings: Settings, edition: Edition) -> str:
    return f"{settings.workflow_prefix}report-{edition.value}"


def build(settings: Settings, edition: Edition) -> Schedule:
    """The schedule of one edition (what `ensure_schedules` creates or updates to)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            REPORT_RUN_WORKFLOW,
            ReportRunInput(edition=edition),
            id=schedule_id(settings, edition),
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    minute=(ScheduleRange(MINUTE),),
                    hour=EVERY_HOUR,
                    comment=NOTES[edition],
                    **DAYS[edition],
                )
            ],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ALL, catchup_window=CATCHUP[edition]),
    )


async def upsert_schedule(client: Client, sid: str, wanted: Schedule, *, run_new: bool = False) -> bool:
    """Create the schedule `sid`, or bring an existing one up to `wanted` while keeping its state
    (a pause set in the Temporal UI). True if it was created. Idempotent. Other functions' weekly
    or nightly schedules (e.g. backroom/vendors/schedules.py) use this too."""
    try:
        await client.create_schedule(sid, wanted, trigger_immediately=run_new)
        log.info("created schedule %s", sid)
        return True
    except ScheduleAlreadyRunningError:

        def keep_state(current: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
            wanted.state = current.description.schedule.state
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(sid).update(keep_state)
        return False


async def ensure_schedules(client: Client, settings: Settings, *, run_new: bool = False) -> list[str]:
    """Create the three report schedules, or bring existing ones up to date (keeping a pause set
    in the Temporal UI). Idempotent: never a second schedule for an id. With `run_new` a schedule
    created now also runs once at once (the last ended periods straight away); the worker leaves
    that to the first tick, so that starting a stack does not begin with a burst of PDF renders."""
    ids = []
    for edition in Edition:
        sid = schedule_id(settings, edition)
        await upsert_schedule(client, sid, build(settings, edition), run_new=run_new)
        ids.append(sid)
    return ids
